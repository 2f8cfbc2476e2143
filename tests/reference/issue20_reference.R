# issue 20 references: lme4 anova / profile / bootMer, lmerTest Satterthwaite, pbkrtest Kenward-Roger,
# clubSandwich CR2, and a hand-coded GLMM cluster sandwich.  Writes issue20_reference.json (+ CSVs) beside it.
# Run: cd /work/notes/issue20 && Rscript issue20_reference.R [--no-timing]
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(clubSandwich); library(numDeriv); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
timing <- !("--no-timing" %in% args)
out <- list()
pkgs <- c("lme4", "lmerTest", "pbkrtest", "clubSandwich", "numDeriv", "Matrix", "nlme", "minqa", "jsonlite")
out$versions <- c(list(R = R.version.string), lapply(setNames(pkgs, pkgs), function(p) as.character(packageVersion(p))))
out$machine <- list(nproc = parallel::detectCores(), date = format(Sys.time(), tz = "UTC", usetz = TRUE))

tab <- function(x) {  # a data frame / matrix as {columns: [...], rows: [...], data: {col: [...]}}
  x <- as.data.frame(x, check.names = FALSE)
  list(rows = rownames(x), columns = names(x), data = lapply(as.list(x), function(c) unname(c)))
}
gctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                      optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5),
                      check.conv.grad = .makeCC("warning", tol = 1e-6))
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                     check.conv.grad = .makeCC("warning", tol = 1e-6))
maxgrad <- function(m) max(abs(m@optinfo$derivs$gradient))
fitinfo <- function(m) list(logLik = as.numeric(logLik(m)), max_abs_grad = maxgrad(m),
                            theta = unname(getME(m, "theta")), beta = unname(fixef(m)),
                            beta_names = names(fixef(m)), REML = isREML(m),
                            optimizer_messages = m@optinfo$conv$lme4$messages)

## ------------------------------------------------------------------------------------------------ data
data(cbpp, package = "lme4"); data(sleepstudy, package = "lme4")
data(Orthodont, package = "nlme")
orth <- data.frame(distance = Orthodont$distance, age = Orthodont$age,
                   Subject = as.character(Orthodont$Subject), Sex = factor(as.character(Orthodont$Sex),
                                                                            levels = c("Male", "Female")))
write.csv(orth, "Orthodont.csv", row.names = FALSE)
chick <- data.frame(weight = ChickWeight$weight, Time = ChickWeight$Time,
                    Chick = as.character(ChickWeight$Chick), Diet = factor(as.character(ChickWeight$Diet),
                                                                           levels = c("1", "2", "3", "4")))
write.csv(chick, "ChickWeight.csv", row.names = FALSE)
out$data <- list(
  Orthodont = list(file = "Orthodont.csv", source = "R package nlme, Orthodont (Potthoff & Roy 1964)",
                   rows = nrow(orth), factor_levels = list(Sex = levels(orth$Sex)),
                   note = "Sex reference level Male (as nlme); Subject as character"),
  ChickWeight = list(file = "ChickWeight.csv", source = "R datasets, ChickWeight (Crowder & Hand 1990)",
                     rows = nrow(chick), factor_levels = list(Diet = levels(chick$Diet)),
                     note = "unbalanced (chicks drop out): non-integer denominator df; Chick as character"))

## ------------------------------------------------------------------------------------------------ 1. anova
cb1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = gctrl)
cb0 <- glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), cbpp, binomial, control = gctrl)
a <- anova(cb0, cb1)
out$anova_cbpp <- list(call = "anova(cb0, cb1): cb1 = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), binomial, Laplace); cb0 = ~ 1 + (1 | herd)",
                       table = tab(a), fit_m1 = fitinfo(cb1), fit_m0 = fitinfo(cb0))

ss1r <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, control = lctrl)
ss0r <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, control = lctrl)
ss1m <- update(ss1r, REML = FALSE); ss0m <- update(ss0r, REML = FALSE)
a_refit <- anova(ss0r, ss1r)              # lme4 refits the REML fits with ML
a_ml <- anova(ss0m, ss1m)
a_reml <- anova(ss0r, ss1r, refit = FALSE)
chisq <- a_ml$Chisq[2]
out$anova_sleepstudy <- list(
  call = "m0 = Reaction ~ Days + (1 | Subject), m1 = Reaction ~ Days + (Days | Subject)",
  table_refit = tab(a_refit), note_refit = "anova(m0_REML, m1_REML): 'refitting model(s) with ML (instead of REML)'",
  table_ml = tab(a_ml), table_reml_refit_false = tab(a_reml),
  fit_m1_ml = fitinfo(ss1m), fit_m0_ml = fitinfo(ss0m), fit_m1_reml = fitinfo(ss1r), fit_m0_reml = fitinfo(ss0r),
  chibar = list(statistic = chisq, components = "0.5 chi2_1 + 0.5 chi2_2 (Stram & Lee 1994: one variance + one covariance added)",
                p_naive = pchisq(chisq, 2, lower.tail = FALSE),
                p_mixture = 0.5 * pchisq(chisq, 1, lower.tail = FALSE) + 0.5 * pchisq(chisq, 2, lower.tail = FALSE)))

g0 <- glm(cbind(incidence, size - incidence) ~ period, cbpp, family = binomial)
lrt <- 2 * (as.numeric(logLik(cb1)) - as.numeric(logLik(g0)))
out$re_test_cbpp <- list(
  note = "lme4's anova refuses a glm vs glmer comparison; the LRT of (1 | herd) is computed by hand: 2 (logLik(glmer) - logLik(glm)); both logLik include the binomial coefficient log choose(size, incidence)",
  logLik_glm = as.numeric(logLik(g0)), logLik_glmer = as.numeric(logLik(cb1)), statistic = lrt,
  p_naive = pchisq(lrt, 1, lower.tail = FALSE),
  p_mixture = 0.5 * pchisq(lrt, 1, lower.tail = FALSE),
  components = "0.5 chi2_0 + 0.5 chi2_1 (Self & Liang 1987)")
ss_lm <- lm(Reaction ~ Days, sleepstudy)
lrt2 <- 2 * (as.numeric(logLik(ss0m)) - as.numeric(logLik(ss_lm)))
out$re_test_sleepstudy_intercept <- list(
  note = "lm (ML) vs lmer ML Reaction ~ Days + (1 | Subject), by hand", logLik_lm = as.numeric(logLik(ss_lm)),
  logLik_lmer = as.numeric(logLik(ss0m)), statistic = lrt2, p_naive = pchisq(lrt2, 1, lower.tail = FALSE),
  p_mixture = 0.5 * pchisq(lrt2, 1, lower.tail = FALSE))
cat("anova done\n")

## ------------------------------------------------------------------------------------------------ 3. small-sample
coefs <- function(m, ddf) tab(coef(summary(m, ddf = ddf)))
ss <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), sleepstudy, control = lctrl)
vv <- ss@vcov_varpar
out$smallsample_sleepstudy <- list(
  call = "lmerTest::lmer(Reaction ~ Days + (Days | Subject), sleepstudy) REML", fit = fitinfo(ss),
  satterthwaite = coefs(ss, "Satterthwaite"), kenward_roger = coefs(ss, "Kenward-Roger"),
  varpar = c(unname(getME(ss, "theta")), sigma(ss)),
  vcov_varpar = unname(vv),
  note_vcov_varpar = "lmerTest: 2 * solve(Hessian of the REML deviance in (theta, sigma)) (numDeriv), the A matrix of Satterthwaite's df",
  vcov_beta_kr = unname(as.matrix(pbkrtest::vcovAdj(ss))), vcov_beta = unname(as.matrix(vcov(ss))))

orm <- lmerTest::lmer(distance ~ age + Sex + (1 | Subject), orth, control = lctrl)
out$smallsample_orthodont <- list(
  call = "lmerTest::lmer(distance ~ age + Sex + (1 | Subject), Orthodont.csv) REML", fit = fitinfo(orm),
  satterthwaite = coefs(orm, "Satterthwaite"), kenward_roger = coefs(orm, "Kenward-Roger"),
  anova_satterthwaite = tab(anova(orm, ddf = "Satterthwaite")), anova_kenward_roger = tab(anova(orm, ddf = "Kenward-Roger")))

ch <- lmerTest::lmer(weight ~ Time + Diet + (Time | Chick), chick, control = lctrl)
L <- rbind(c(0, 0, 1, -1, 0), c(0, 0, 0, 1, -1))   # Diet2 - Diet3 = 0, Diet3 - Diet4 = 0
colnames(L) <- names(fixef(ch))
kr_L <- pbkrtest::KRmodcomp(ch, L)
out$smallsample_chickweight <- list(
  call = "lmerTest::lmer(weight ~ Time + Diet + (Time | Chick), ChickWeight.csv) REML", fit = fitinfo(ch),
  satterthwaite = coefs(ch, "Satterthwaite"), kenward_roger = coefs(ch, "Kenward-Roger"),
  anova_satterthwaite = tab(anova(ch, ddf = "Satterthwaite")), anova_kenward_roger = tab(anova(ch, ddf = "Kenward-Roger")),
  contrast_L = unname(L), contrast_names = colnames(L),
  contest_satterthwaite = tab(contest(ch, L, ddf = "Satterthwaite")),
  contest_kenward_roger = tab(contest(ch, L, ddf = "Kenward-Roger")),
  KRmodcomp = list(stats = tab(kr_L$test), note = "pbkrtest KRmodcomp(m, L): 'Ftest' row = F scaled by KR's lambda, 'FtestU' unscaled"),
  contest1D_satterthwaite = tab(contest(ch, c(0, 0, 1, -1, 0), ddf = "Satterthwaite")),
  contest1D_kenward_roger = tab(contest(ch, c(0, 0, 1, -1, 0), ddf = "Kenward-Roger")))
cat("small-sample done\n")

## ------------------------------------------------------------------------------------------------ 6. profile + SD SEs
prof_ci <- function(m, fine = FALSE) {
  p <- if (fine) profile(m, signames = TRUE, delta.cutoff = 1 / 64, maxpts = 400) else profile(m, signames = TRUE)
  tab(confint(p))
}
out$profile <- list(
  note = "confint(profile(m)) with lme4's default grid (delta.cutoff 1/8, spline interpolation) and a finer grid (delta.cutoff 1/64, maxpts 400): their difference bounds lme4's own interpolation error",
  sleepstudy_ml = prof_ci(ss1m), sleepstudy_ml_fine = prof_ci(ss1m, TRUE),
  sleepstudy_reml = prof_ci(ss1r), sleepstudy_reml_fine = prof_ci(ss1r, TRUE),
  cbpp = prof_ci(cb1), cbpp_fine = prof_ci(cb1, TRUE),
  note_reml = "lme4's profile (devfun2) starts with refitML(fm): the profile of a REML fit is the ML profile (sleepstudy_reml = sleepstudy_ml)")
cat("profile done\n")

# Wald SEs on the SD scale: Hessian (numDeriv) of lme4's devfun2 -- the deviance in (sd, cor, sigma) with beta profiled --
# cov = 2 solve(H).  For the GLMM: devfun of nAGQ = 1 in (theta, beta); theta = sd for (1 | herd).
sd_se <- function(m) {
  df2 <- lme4:::devfun2(m, useSc = TRUE, signames = TRUE)   # refits ML; function of (sd, cor, sigma), beta profiled
  np <- length(getME(m, "theta")) + 1
  pars <- attr(df2, "optimum")[seq_len(np)]
  H <- numDeriv::hessian(df2, pars)
  C <- 2 * solve(H)
  list(names = names(pars), estimate = unname(pars), se = sqrt(diag(C)), cov = unname(C))
}
# REML: lmerTest's vcov_varpar (2 solve(Hessian of the REML deviance in (theta, sigma))) mapped to (sd1, cor, sd2, sigma)
to_sd <- function(vp) { t <- vp[1:3]; s <- vp[4]; n2 <- sqrt(t[2]^2 + t[3]^2)
  c(s * t[1], t[2] / n2, s * n2, s) }
Jr <- numDeriv::jacobian(to_sd, c(getME(ss, "theta"), sigma(ss)))
Cr <- Jr %*% ss@vcov_varpar %*% t(Jr)
dfc <- update(cb1, devFunOnly = TRUE)
parc <- c(getME(cb1, "theta"), fixef(cb1))
Hc <- numDeriv::hessian(dfc, parc)
Cc <- 2 * solve(Hc)
out$sd_se <- list(
  method = "numDeriv::hessian of lme4:::devfun2(m, useSc = TRUE, signames = TRUE) (deviance over sd/cor/sigma, beta profiled out) at attr(, 'thopt'); cov = 2 solve(H)",
  sleepstudy_ml = sd_se(ss1m),
  sleepstudy_reml = list(method = "delta method: numDeriv::jacobian of (theta, sigma) -> (sd1, cor, sd2, sigma) applied to lmerTest's vcov_varpar of the REML fit",
                         names = c(".sig01", ".sig02", ".sig03", ".sigma"), estimate = to_sd(c(getME(ss, "theta"), sigma(ss))),
                         se = sqrt(diag(Cr)), cov = unname(Cr)),
  cbpp = list(method = "numDeriv::hessian of update(m, devFunOnly = TRUE) (Laplace deviance in c(theta, beta)); cov = 2 solve(H); theta = sd(herd)",
              names = c(".sig01", names(fixef(cb1))), estimate = unname(parc), se = sqrt(diag(Cc)), cov = unname(Cc),
              vcov_beta_lme4 = unname(as.matrix(vcov(cb1)))))
cat("sd se done\n")

## ------------------------------------------------------------------------------------------------ 4. sandwich
cr <- function(m, type) unname(as.matrix(vcovCR(m, type = type)))
out$sandwich_sleepstudy <- list(
  call = "clubSandwich::vcovCR(lmer(Reaction ~ Days + (Days | Subject)), cluster = Subject) REML and ML",
  reml = list(CR0 = cr(ss1r, "CR0"), CR1 = cr(ss1r, "CR1"), CR2 = cr(ss1r, "CR2"), model = unname(as.matrix(vcov(ss1r))),
              coef_test_CR2 = tab(coef_test(ss1r, vcov = "CR2", test = "Satterthwaite"))),
  ml = list(CR0 = cr(ss1m, "CR0"), CR1 = cr(ss1m, "CR1"), CR2 = cr(ss1m, "CR2"), model = unname(as.matrix(vcov(ss1m)))),
  note = "clubSandwich: working model = the fitted marginal V; CR1 = CR0 * m/(m-1); CR2 = Bell-McCaffrey with the working-model adjustment (Pustejovsky & Tipton 2018)")

# closed-form check: balanced random intercept, intercept only: CR2 var(beta0) = var(cluster means) / m ?
set.seed(20)
mcl <- 8; ncl <- 5
bal <- data.frame(g = factor(rep(seq_len(mcl), each = ncl)))
bal$y <- rnorm(mcl)[bal$g] + rnorm(mcl * ncl)
mb <- lmer(y ~ 1 + (1 | g), bal, REML = TRUE, control = lctrl)
means <- tapply(bal$y, bal$g, mean)
out$sandwich_balanced <- list(
  data = list(g = as.integer(bal$g), y = bal$y),
  CR2 = cr(mb, "CR2"), CR0 = cr(mb, "CR0"), var_means_over_m = var(means) / mcl,
  sum_sq_over_m2 = sum((means - mean(means))^2) / mcl^2,
  note = "balanced random-intercept, intercept-only: GLS = OLS = grand mean; CR0 = sum (ybar_j - ybar)^2 / m^2, CR2 = that * m/(m-1) = var(ybar_j)/m")

# GLMM cluster sandwich for cbpp by hand: l(beta, theta) = sum_i l_i, l_i the Laplace log-likelihood of herd i
# (scalar Newton for the mode), checked against lme4's logLik; scores per herd by numDeriv::grad.
X <- model.matrix(~ period, cbpp); yv <- cbpp$incidence; nv <- cbpp$size; herd <- cbpp$herd
lap_i <- function(par, rows) {
  beta <- par[-1]; sd <- par[1]; eta0 <- drop(X[rows, , drop = FALSE] %*% beta)
  u <- 0
  for (it in 1:100) {   # mode of log p(y|b) + log phi(u), b = sd u
    mu <- plogis(eta0 + sd * u); g <- sum(sd * (yv[rows] - nv[rows] * mu)) - u
    h <- -sum(sd^2 * nv[rows] * mu * (1 - mu)) - 1; step <- g / h; u <- u - step
    if (abs(step) < 1e-14) break
  }
  mu <- plogis(eta0 + sd * u); h <- sum(sd^2 * nv[rows] * mu * (1 - mu)) + 1
  sum(dbinom(yv[rows], nv[rows], mu, log = TRUE)) - u^2 / 2 - 0.5 * log(h)
}
groups <- split(seq_len(nrow(cbpp)), herd)
par_hat <- c(getME(cb1, "theta"), fixef(cb1))
ll <- function(par) sum(sapply(groups, function(r) lap_i(par, r)))
scores <- t(sapply(groups, function(r) numDeriv::grad(function(p) lap_i(p, r), par_hat)))
Hl <- numDeriv::hessian(ll, par_hat)
bread <- solve(-Hl)
meat <- crossprod(scores)
G <- length(groups)
out$sandwich_cbpp <- list(
  method = "per-herd Laplace log-likelihood l_i(sd, beta) coded in R (Newton for the mode), scores numDeriv::grad per herd at lme4's optimum, bread = solve(-numDeriv::hessian(sum l_i)); sandwich = bread meat bread (CR0), CR1 = G/(G-1) CR0",
  names = c(".sig01", names(fixef(cb1))), logLik_by_hand = ll(par_hat), logLik_lme4 = as.numeric(logLik(cb1)),
  score_sum = colSums(scores), scores = unname(scores), herd_levels = names(groups),
  model_cov = unname(bread), CR0 = unname(bread %*% meat %*% bread), CR1 = unname(bread %*% meat %*% bread) * G / (G - 1))
cat("sandwich done\n")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), "issue20_reference.json")

## ------------------------------------------------------------------------------------------------ 2. bootstrap
set.seed(1)
pb <- PBmodcomp(cb1, cb0, nsim = 50, seed = 1)
out$pbmodcomp_cbpp <- list(call = "PBmodcomp(cb1, cb0, nsim = 50, seed = 1) (format only)", test = tab(pb$test),
                           n_extremes = pb$n.extreme, ctime = pb$ctime, samples_head = unname(head(pb$ref, 10)))
cbd <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)   # default control
if (timing) {
  tm <- function(m, use.u = FALSE) unname(system.time(bootMer(m, function(x) fixef(x), nsim = 1000, seed = 1,
                                                               use.u = use.u))["elapsed"])
  b <- bootMer(cbd, function(x) fixef(x), nsim = 1000, seed = 1)
  t_default <- c(tm(cbd), tm(cbd), tm(cbd))
  t_tight <- tm(cb1)
  t_useu <- tm(cbd, TRUE)
  ci_boot_t <- system.time(ci_boot <- confint(cbd, method = "boot", nsim = 1000, seed = 1))["elapsed"]
  fit_t <- system.time(for (i in 1:20) glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial))["elapsed"] / 20
  out$bootmer_cbpp <- list(
    call = "system.time(bootMer(m, function(m) fixef(m), nsim = 1000, seed = 1)), m = glmer cbpp period, default glmerControl",
    elapsed_default_control = t_default, elapsed_tight_control = t_tight, elapsed_use_u_true = t_useu,
    n_failed = sum(apply(is.na(b$t), 1, any)), t0 = unname(b$t0), boot_mean = unname(colMeans(b$t)),
    boot_sd = unname(apply(b$t, 2, sd)),
    percentile_ci = unname(t(apply(b$t, 2, quantile, c(0.025, 0.975)))),
    one_fit_elapsed = unname(fit_t),
    confint_boot = tab(ci_boot), confint_boot_elapsed = unname(ci_boot_t),
    note = "confint(method = 'boot') default boot.type 'perc', parameters .sig01 and the fixed effects")
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), "issue20_reference.json")
cat("all done\n")
