# Reference values for tests/glmm/test_lmm.py (quadlib.glmm.lmm, linear mixed models), from lme4's lmer,
# written to tests/reference/lmm_reference.json, with the simulated data sets tests/reference/lmm_crossed.csv,
# lmm_nested.csv, lmm_singular.csv and lmm_boundary.csv.
#
# Run from the repository root:   Rscript tests/reference/lmm_reference.R   (about 10 s)
#
# "Converged" lme4: lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5)),
# started from the default fit's theta. Per fit: fixef, se (sqrt(diag(vcov))), vcov, theta, sigma, the SDs and
# correlations of every term (VarCorr, term names as lme4 names them: (x || g) is split into g and g.1), logLik
# (for REML fits the REML log-likelihood -REMLcrit/2, as logLik(fit) reports it), REMLcrit, AIC, BIC, the ML
# deviance, df, nobs, ngroups, isSingular.
# Profile intervals: lme4's confint(method = "profile") (spline interpolation of the ML profile; lme4 always
# profiles the ML deviance, refitting a REML fit by ML first) and the exact interval: uniroot() on the ML
# deviance refitted with the fixed effect in an offset (tol 1e-12).
# Timing: median of 20 default lmer() calls on sleepstudy, REML.
suppressMessages({
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
refdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
lctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))

converged <- function(formula, data, REML) {
  fit0 <- lmer(formula, data = data, REML = REML)
  lmer(formula, data = data, REML = REML, control = lctrl, start = getME(fit0, "theta"))
}

entry <- function(fit, formula, data_name, extra = list()) {
  vc <- VarCorr(fit)
  terms <- lapply(names(vc), function(g) {
    m <- vc[[g]]
    list(group = g, names = colnames(m), sd = unname(attr(m, "stddev")), corr = unname(attr(m, "correlation")))
  })
  out <- list(formula = formula, data = data_name, REML = isREML(fit), nobs = nobs(fit),
              fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
              vcov = unname(as.matrix(vcov(fit))), theta = unname(getME(fit, "theta")),
              sigma = sigma(fit), terms = terms, logLik = as.numeric(logLik(fit)),
              df = attr(logLik(fit), "df"), AIC = AIC(fit), BIC = BIC(fit),
              deviance_ML = unname(deviance(fit, REML = FALSE)), ngroups = as.list(ngrps(fit)),
              singular = isSingular(fit))
  if (isREML(fit)) out$REMLcrit <- unname(REMLcrit(fit))
  c(out, extra)
}

ranef_entry <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  lapply(setNames(names(re), names(re)), function(g) {
    pv <- attr(re[[g]], "postVar")
    list(levels = rownames(re[[g]]), columns = colnames(re[[g]]),
         mode = unname(as.matrix(re[[g]])),
         sd = unname(t(sqrt(apply(pv, 3, diag)))))
  })
}

# exact profile interval of fixed effect j: ML deviance with beta_j fixed (an offset), uniroot at +- cutoff
exact_profile <- function(fit, formula_rest, data, level = 0.95) {
  ml <- refitML(fit)
  base <- deviance(ml)
  X <- getME(ml, "X")
  cut <- qchisq(level, 1)
  out <- list()
  for (j in colnames(X)) {
    xj <- X[, j]
    rest <- colnames(X)[colnames(X) != j]
    dev <- function(b) {
      data$.off <- xj * b
      rhs <- paste(c(if ("(Intercept)" %in% rest) "1" else "0", rest[rest != "(Intercept)"]), collapse = " + ")
      f <- as.formula(paste(formula_rest$lhs, "~", rhs, "+ offset(.off) +", formula_rest$re))
      m <- lmer(f, data = data, REML = FALSE, control = lctrl, start = getME(ml, "theta"))
      deviance(m) - base - cut
    }
    est <- fixef(ml)[[j]]
    se <- sqrt(diag(as.matrix(vcov(ml))))[[j]]
    lo <- uniroot(dev, c(est - 6 * se, est), tol = 1e-12)$root
    hi <- uniroot(dev, c(est, est + 6 * se), tol = 1e-12)$root
    out[[j]] <- c(lo, hi)
  }
  out
}

ci_list <- function(ci) lapply(setNames(seq_len(nrow(ci)), rownames(ci)), function(i) unname(ci[i, ]))

fits <- list()

# sleepstudy ---------------------------------------------------------------------------------------
sleep <- lme4::sleepstudy
sleep$Subject <- as.character(sleep$Subject)
for (reml in c(TRUE, FALSE)) {
  tag <- if (reml) "reml" else "ml"
  for (form in list(c("corr", "Reaction ~ Days + (Days | Subject)"),
                    c("diag", "Reaction ~ Days + (Days || Subject)"),
                    c("int", "Reaction ~ Days + (1 | Subject)"))) {
    fit <- converged(as.formula(form[2]), sleep, reml)
    extra <- list()
    if (form[1] == "corr") {
      extra$ranef <- ranef_entry(fit)
      extra$fitted <- unname(fitted(fit))
      nd <- data.frame(Days = c(0, 4.5, 9, 2), Subject = c("308", "309", "new", "372"))
      extra$predict_newdata <- list(Days = nd$Days, Subject = nd$Subject,
                                    re = unname(predict(fit, newdata = nd, allow.new.levels = TRUE)),
                                    fixed = unname(predict(fit, newdata = nd, re.form = NA)))
      ci <- confint(fit, method = "profile", parm = "beta_", level = 0.95)
      extra$confint_profile_lme4 <- ci_list(ci)
      extra$confint_profile_exact <- exact_profile(fit, list(lhs = "Reaction", re = "(Days | Subject)"), sleep)
      extra$confint_wald <- ci_list(confint(fit, method = "Wald", parm = "beta_", level = 0.95))
    }
    fits[[paste0("sleepstudy_", form[1], "_", tag)]] <- entry(fit, form[2], "sleepstudy", extra)
  }
}

# prior weights and an offset
sleep$w <- 1 + (sleep$Days %% 3) / 2
sleep$o <- 0.5 * sleep$Days
for (reml in c(TRUE, FALSE)) {
  fit0 <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = reml, weights = w, offset = o)
  fit <- lmer(Reaction ~ Days + (Days | Subject), sleep, REML = reml, weights = w, offset = o, control = lctrl,
              start = getME(fit0, "theta"))
  fits[[paste0("sleepstudy_weights_offset_", if (reml) "reml" else "ml")]] <-
    entry(fit, "Reaction ~ Days + (Days | Subject)", "sleepstudy", list(weights = "1 + (Days %% 3) / 2",
                                                                       offset = "0.5 * Days"))
}

# Orange: random intercept per tree ---------------------------------------------------------------
orange <- as.data.frame(datasets::Orange)
orange$Tree <- as.character(orange$Tree)
fits$orange_int_reml <- entry(converged(circumference ~ age + (1 | Tree), orange, TRUE),
                              "circumference ~ age + (1 | Tree)", "orange")

# simulated: crossed -------------------------------------------------------------------------------
set.seed(20240701)
crossed <- expand.grid(sample = sprintf("s%02d", 1:12), plate = sprintf("p%02d", 1:20), stringsAsFactors = FALSE)
crossed <- crossed[, c("plate", "sample")]
crossed$x <- round(rnorm(nrow(crossed)), 6)
bp <- rnorm(20, 0, 0.8); bpx <- rnorm(20, 0, 0.4); bs <- rnorm(12, 0, 1.5)
ip <- match(crossed$plate, sprintf("p%02d", 1:20)); is <- match(crossed$sample, sprintf("s%02d", 1:12))
crossed$y <- round(20 + 0.5 * crossed$x + bp[ip] + bpx[ip] * crossed$x + bs[is] + rnorm(nrow(crossed), 0, 0.7), 6)
crossed <- crossed[sample(nrow(crossed)), ]  # rows in random order
write.csv(crossed, file.path(refdir, "lmm_crossed.csv"), row.names = FALSE)
crossed <- read.csv(file.path(refdir, "lmm_crossed.csv"), stringsAsFactors = FALSE)
f <- "y ~ x + (1 | plate) + (1 | sample)"
fits$crossed_int_reml <- entry(converged(as.formula(f), crossed, TRUE), f, "lmm_crossed")
f <- "y ~ x + (x | plate) + (1 | sample)"
fit <- converged(as.formula(f), crossed, FALSE)
fits$crossed_slope_ml <- entry(fit, f, "lmm_crossed",
                               list(confint_profile_lme4 = ci_list(confint(fit, method = "profile", parm = "beta_")),
                                    confint_profile_exact = exact_profile(fit, list(lhs = "y", re = "(x | plate) + (1 | sample)"), crossed)))

# simulated: nested (classroom labels re-used in every school) --------------------------------------
set.seed(20240702)
nested <- expand.grid(pupil = 1:6, classroom = sprintf("c%d", 1:4), school = sprintf("s%02d", 1:15),
                      stringsAsFactors = FALSE)[, c("school", "classroom", "pupil")]
nested$x <- round(runif(nrow(nested), 0, 10), 4)
bsc <- rnorm(15, 0, 2); bcl <- rnorm(60, 0, 1)
isc <- match(nested$school, sprintf("s%02d", 1:15)); icl <- (isc - 1) * 4 + match(nested$classroom, sprintf("c%d", 1:4))
nested$y <- round(50 + 1.2 * nested$x + bsc[isc] + bcl[icl] + rnorm(nrow(nested), 0, 1.5), 5)
write.csv(nested, file.path(refdir, "lmm_nested.csv"), row.names = FALSE)
nested <- read.csv(file.path(refdir, "lmm_nested.csv"), stringsAsFactors = FALSE)
f <- "y ~ x + (1 | school/classroom)"
fits$nested_reml <- entry(converged(as.formula(f), nested, TRUE), f, "lmm_nested")
fits$nested_ml <- entry(converged(as.formula(f), nested, FALSE), f, "lmm_nested")

# simulated: no group effect -> singular fit ----------------------------------------------------------
set.seed(20240703)
singular <- data.frame(g = rep(sprintf("g%d", 1:8), each = 5), x = round(rnorm(40), 6))
singular$y <- round(1 + 2 * singular$x + rnorm(40), 6)
write.csv(singular, file.path(refdir, "lmm_singular.csv"), row.names = FALSE)
singular <- read.csv(file.path(refdir, "lmm_singular.csv"), stringsAsFactors = FALSE)
f <- "y ~ x + (1 | g)"
fits$singular_reml <- entry(suppressMessages(converged(as.formula(f), singular, TRUE)), f, "lmm_singular")
stopifnot(fits$singular_reml$singular)

# simulated: sleepstudy design, intercept and slope effects proportional -> correlation at +-1 (singular)
set.seed(20240704)
boundary <- sleep[, c("Days", "Subject")]
b <- rnorm(18, 0, 10); names(b) <- unique(boundary$Subject)
boundary$Reaction <- round(250 + 10 * boundary$Days + b[boundary$Subject] * (1 + 0.5 * boundary$Days) +
                           rnorm(nrow(boundary), 0, 5), 6)
write.csv(boundary, file.path(refdir, "lmm_boundary.csv"), row.names = FALSE)
boundary <- read.csv(file.path(refdir, "lmm_boundary.csv"), stringsAsFactors = FALSE)
f <- "Reaction ~ Days + (Days | Subject)"
fits$boundary_corr_reml <- entry(suppressMessages(converged(as.formula(f), boundary, TRUE)), f, "lmm_boundary")
stopifnot(fits$boundary_corr_reml$singular)

# timing --------------------------------------------------------------------------------------------
times <- replicate(20, { t0 <- Sys.time(); lmer(Reaction ~ Days + (Days | Subject), sleep); as.numeric(Sys.time() - t0) })

out <- list(meta = list(script = "tests/reference/lmm_reference.R", R = R.version.string,
                        lme4 = as.character(packageVersion("lme4")),
                        control = "lmerControl(optimizer = 'bobyqa', optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))",
                        lmer_sleepstudy_reml_median_seconds = median(times)),
            fits = fits)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, matrix = "rowmajor"),
           file.path(refdir, "lmm_reference.json"))
cat("median lmer time (sleepstudy REML):", median(times), "s\n")
