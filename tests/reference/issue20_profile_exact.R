# issue 20 supplement: exact profile-interval ends (root finding on lme4's own deviance functions, no spline
# interpolation) for sleepstudy (ML) and cbpp (Laplace), and clubSandwich CR2 on unbalanced LMMs.
# Writes issue20_profile_exact.json.  Run: cd /work/notes/issue20 && Rscript issue20_profile_exact.R
suppressPackageStartupMessages({library(lme4); library(clubSandwich); library(minqa); library(jsonlite)})
out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            clubSandwich = as.character(packageVersion("clubSandwich"))))
z <- qnorm(0.975)
# minimize f over the free coordinates with coordinate i held at v (bobyqa, tight), warm start x
held_min <- function(f, x, i, v, lower) {
  g <- function(y) { p <- x; p[-i] <- y; p[i] <- v; f(p) }
  r <- bobyqa(x[-i], g, lower = lower[-i], control = list(rhobeg = 0.02, rhoend = 1e-11, maxfun = 1e5))
  r$fval
}
ends <- function(f, opt, lower, names, se) {
  dmin <- f(opt)
  res <- sapply(seq_along(opt), function(i) {
    zeta <- function(v) sign(v - opt[i]) * sqrt(max(held_min(f, opt, i, v, lower) - dmin, 0))
    lo <- uniroot(function(v) zeta(v) + z, c(max(lower[i], opt[i] - 6 * se[i]), opt[i]), tol = 1e-10)$root
    hi <- uniroot(function(v) zeta(v) - z, c(opt[i], opt[i] + 6 * se[i]), tol = 1e-10)$root
    c(lo, hi)
  })
  list(rows = names, lower = res[1, ], upper = res[2, ], deviance_min = dmin)
}
# sleepstudy ML: devfun2 is the deviance in (sd1, cor, sd2, sigma), beta profiled in closed form
data(sleepstudy)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
m <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE, control = ctrl)
f2 <- lme4:::devfun2(m, useSc = TRUE, signames = TRUE)
opt <- attr(f2, "optimum")[1:4]
# the correlation's free range is (-1, 1): bobyqa bounds via lower only; upper handled by the roots' brackets
f2b <- function(p) if (abs(p[2]) >= 1 || any(p[c(1, 3, 4)] < 0)) 1e10 else f2(p)
vc <- ends(f2b, unname(opt), c(0, -1, 0, 0), names(opt), c(5.6, 0.33, 1.2, 1.5))
# fixed effects: refit with beta_j x_j in the offset (lme4's profile does the same)
X <- getME(m, "X")
fe <- sapply(1:2, function(j) {
  dev_at <- function(v) {
    d <- sleepstudy; d$off <- v * X[, j]
    fm <- if (j == 1) lmer(Reaction ~ 0 + Days + (Days | Subject) + offset(off), d, REML = FALSE, control = ctrl)
          else lmer(Reaction ~ 1 + (Days | Subject) + offset(off), d, REML = FALSE, control = ctrl)
    deviance(fm)
  }
  b <- fixef(m)[j]; se <- sqrt(diag(vcov(m)))[j]; d0 <- deviance(m)
  zeta <- function(v) sign(v - b) * sqrt(max(dev_at(v) - d0, 0))
  c(uniroot(function(v) zeta(v) + z, c(b - 4 * se, b), tol = 1e-10)$root,
    uniroot(function(v) zeta(v) - z, c(b, b + 4 * se), tol = 1e-10)$root)
})
out$sleepstudy_ml <- list(rows = c(vc$rows, names(fixef(m))), lower = c(vc$lower, fe[1, ]),
                          upper = c(vc$upper, fe[2, ]), logLik = as.numeric(logLik(m)),
                          method = "uniroot (tol 1e-10) of the signed root of the ML deviance, the other parameters minimized by bobyqa (rhoend 1e-11) over lme4:::devfun2 (sd, cor, sigma; beta profiled) or, for a fixed effect, by lmer refits with beta_j x_j in the offset")
# cbpp Laplace: devfun (nAGQ = 1) in c(theta, beta); theta = sd(herd)
data(cbpp)
gc <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
g <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = gc)
fd <- update(g, devFunOnly = TRUE)
optg <- c(getME(g, "theta"), fixef(g))
cb <- ends(function(p) if (p[1] < 0) 1e10 else fd(p), unname(optg), c(0, rep(-Inf, 4)),
           c(".sig01", names(fixef(g))), c(0.18, 0.24, 0.31, 0.33, 0.43))
out$cbpp <- c(cb, list(logLik = as.numeric(logLik(g)),
                       method = "uniroot (tol 1e-10) of the signed root of the Laplace deviance update(m, devFunOnly = TRUE) in c(theta, beta), the others minimized by bobyqa (rhoend 1e-11)"))
cat("profiles done\n")
# CR2 on unbalanced / non-saturated LMMs (sleepstudy's balanced random-slope model gives CR2 = model-based)
orth <- read.csv("Orthodont.csv"); orth$Sex <- factor(orth$Sex, levels = c("Male", "Female"))
mo <- lmer(distance ~ age + Sex + (1 | Subject), orth, control = ctrl)
chick <- read.csv("ChickWeight.csv"); chick$Diet <- factor(chick$Diet)
mc <- lmer(weight ~ Time + Diet + (Time | Chick), chick, control = ctrl)
cr <- function(m) list(CR0 = unname(as.matrix(vcovCR(m, type = "CR0"))), CR1 = unname(as.matrix(vcovCR(m, type = "CR1"))),
                       CR2 = unname(as.matrix(vcovCR(m, type = "CR2"))), model = unname(as.matrix(vcov(m))),
                       names = names(fixef(m)),
                       coef_test_CR2 = as.list(as.data.frame(coef_test(m, vcov = "CR2", test = "Satterthwaite"))))
out$cr2_orthodont_reml <- cr(mo)
out$cr2_chickweight_reml <- cr(mc)
out$cr2_note <- "clubSandwich::vcovCR(lmerMod, type), cluster = the (only) grouping factor; REML fits; working model = fitted marginal V"
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), "issue20_profile_exact.json")
cat("all done\n")
