# REML reference fits for issue 19 (glmmTMB 1.1.5, REML = TRUE) of the families whose rows are not log-concave
# in eta: tests/glmm/test_reml.py reads issue19_reml_reference.json. Run from tests/reference:
#   Rscript issue19_reml_reference.R            # writes issue19_reml_reference.json (about 30 s)
# glmmTMB's REML adds the conditional model's fixed effects `beta` (only those: not betazi, betad) to TMB's
# random effects (mkTMBStruc: `if (REML) randomArg <- c(randomArg, "beta")`), so the outer parameters are theta
# (log-SDs), betazi, betad (log dispersion) and psi (shape).
# Data: the shipped copies in quadlib/glmm/datasets (R's own data sets, unchanged). Gcsemv: the rows with course
# observed; the beta fit uses y = (course/100 (n - 1) + 0.5)/n (Smithson & Verkuilen 2006, as
# issue19_reference.R), the beta-binomial fit k = floor(course) successes of 100.
# Control: glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4, rel.tol = 1e-12)), then Newton steps
# from nlminb's optimum with the Hessian from differences of TMB's exact gradient, kept only while the
# objective decreases (newton_polish, as issue19_reference.R). Stored: nlminb's and the polished logLik and
# max |gradient|, the polished outer parameters, the joint-mode beta there, SDs, pdHess.
# Standard errors (glmmTMB's REML vcov(m)$cond: beta's block of solve(m$sdr$jointPrecision), TMB's sdreport for
# random effects, Cov = H_rr^-1 + J V J', which includes the outer parameters' uncertainty), recomputed at the
# polished parameters by sdreport(m$obj, par.fixed = par, getJointPrecision = TRUE): se_beta; se_beta_conditional
# (beta's block of H_rr^-1 alone, H_rr the joint precision's (b, beta) block: the covariance given the outer
# parameters); se_par (sqrt(diag(cov.fixed)), the outer parameters in par's order); se_beta_vcov (vcov(m) at
# nlminb's optimum, printed beside se_beta: equal where the polish does not move).
# The gaussian fits (sleepstudy, and tests/reference/lmm_crossed.csv and lmm_nested.csv as in lmm_reference.R)
# are the peer of fit(family = "gaussian", reml = TRUE): glmmTMB's SEs of beta, not lmer's conditional vcov.
# PARAMETERIZATION: disp = log(phi): nbinom1 var = mu (1 + phi); nbinom2 theta; beta / betabinomial precision
# (shape1 = mu phi); t scale sigma. psi: t df = exp(psi).
suppressPackageStartupMessages({library(glmmTMB); library(jsonlite)})
ctl <- glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4, rel.tol = 1e-12))
here <- "../../quadlib/glmm/datasets"
lev <- fromJSON(file.path(here, "factor_levels.json"), simplifyVector = FALSE)
load_set <- function(name) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (col in names(lev[[name]])) {
    spec <- lev[[name]][[col]]
    d[[col]] <- factor(as.character(d[[col]]), levels = unlist(spec$levels), ordered = isTRUE(spec$ordered[[1]]))
  }
  d
}
Salamanders <- load_set("Salamanders"); Owls <- load_set("Owls"); Gcsemv <- load_set("Gcsemv")
sleepstudy <- read.csv(file.path(here, "sleepstudy.csv")); sleepstudy$Subject <- factor(sleepstudy$Subject)
Owls$logBroodSize <- log(Owls$BroodSize)
gc <- Gcsemv[!is.na(Gcsemv$course), c("school", "student", "gender", "course")]
gc$school <- factor(gc$school); n <- nrow(gc)
gc$y <- (gc$course / 100 * (n - 1) + 0.5) / n
gc$k <- floor(gc$course); gc$nk <- 100 - gc$k
crossed <- read.csv("lmm_crossed.csv", stringsAsFactors = TRUE)
nested <- read.csv("lmm_nested.csv", stringsAsFactors = TRUE)

newton_polish <- function(obj, par, steps = 6) {
  f <- obj$fn(par)
  for (k in seq_len(steps)) {
    g <- obj$gr(par); if (max(abs(g)) < 1e-9) break
    H <- optimHess(par, obj$fn, obj$gr)
    step <- tryCatch(solve(H, as.numeric(g)), error = function(e) NULL); if (is.null(step)) break
    trial <- par - step; ft <- obj$fn(trial)
    if (!is.finite(ft) || ft > f + 1e-12) break
    par <- trial; f <- ft
  }
  list(par = par, nll = as.numeric(obj$fn(par)), gradient = as.numeric(obj$gr(par)))
}
tmb <- function(name, ...) {
  t0 <- proc.time()[["elapsed"]]
  m <- glmmTMB(..., REML = TRUE, control = ctl)
  t1 <- proc.time()[["elapsed"]]
  pol <- newton_polish(m$obj, m$fit$par)
  par <- pol$par
  m$obj$fn(par)                                   # the inner optimum at the polished parameters
  lp <- m$obj$env$last.par
  beta_joint <- unname(lp[names(lp) == "beta"])   # beta at the joint mode of (b, beta)
  sdr <- TMB::sdreport(m$obj, par.fixed = par, getJointPrecision = TRUE)
  Q <- sdr$jointPrecision
  ib <- which(rownames(Q) == "beta"); ir <- which(rownames(Q) %in% c("b", "beta"))
  se_beta <- sqrt(diag(solve(Q)))[ib]
  se_beta_conditional <- sqrt(diag(solve(Q[ir, ir])))[match(ib, ir)]
  se_beta_vcov <- unname(sqrt(diag(vcov(m)$cond)))
  vc <- VarCorr(m)$cond
  re <- lapply(vc, function(v) list(sd = unname(attr(v, "stddev")), names = names(attr(v, "stddev")),
                                    corr = if (ncol(v) > 1) attr(v, "correlation")[lower.tri(v)] else NULL))
  out <- list(family = family(m)$family, link = family(m)$link,
       logLik = -pol$nll, logLik_nlminb = as.numeric(logLik(m)),
       beta_names = names(fixef(m)$cond), beta = beta_joint, fixef_nlminb = unname(fixef(m)$cond),
       par = unname(par), par_names = names(par),
       theta = unname(par[names(par) == "theta"]), betazi = unname(par[names(par) == "betazi"]),
       betad = unname(par[names(par) == "betad"]), psi = unname(par[names(par) == "psi"]),
       ranef_sd_nlminb = re, pdHess = m$sdr$pdHess, pdHess_polished = sdr$pdHess,
       se_beta = unname(se_beta), se_beta_conditional = unname(se_beta_conditional),
       se_par = unname(sqrt(diag(sdr$cov.fixed))), se_beta_vcov = se_beta_vcov,
       max_abs_gradient = max(abs(pol$gradient)), max_abs_gradient_nlminb = max(abs(m$obj$gr(m$fit$par))),
       convergence = m$fit$convergence, message = m$fit$message, seconds = t1 - t0, nobs = nobs(m))
  cat(sprintf("%-22s logLik %.10f (nlminb %.10f) max|g| %.1e (nlminb %.1e) pdHess %s %.2fs\n", name, out$logLik,
              out$logLik_nlminb, out$max_abs_gradient, out$max_abs_gradient_nlminb, out$pdHess, out$seconds))
  cat("   ", paste(sprintf("%s=%.8f", names(par), par), collapse = " "), "\n")
  cat("    beta at the joint mode:", sprintf("%.8f", beta_joint), "\n")
  cat("    se(beta):", sprintf("%.10f", se_beta), " max rel. diff. from vcov(m):",
      sprintf("%.1e", max(abs(se_beta / se_beta_vcov - 1))), "\n")
  out
}
R <- list()
sal <- count ~ spp + mined + (1 | site)
owl <- SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)
R$owls_nb1_reml        <- tmb("owls_nb1_reml", owl, data = Owls, family = nbinom1)
R$gcse_beta_reml       <- tmb("gcse_beta_reml", y ~ gender + (1 | school), data = gc, family = beta_family)
R$gcse_betabin_reml    <- tmb("gcse_betabin_reml", cbind(k, nk) ~ gender + (1 | school), data = gc,
                              family = betabinomial)
R$sal_hurdle_nb2_reml  <- tmb("sal_hurdle_nb2_reml", sal, ziformula = ~ 1, data = Salamanders,
                              family = truncated_nbinom2)
R$sleep_t_reml         <- tmb("sleep_t_reml", Reaction ~ Days + (Days | Subject), data = sleepstudy, family = t_family)
R$sal_zip_reml         <- tmb("sal_zip_reml", sal, ziformula = ~ spp + mined, data = Salamanders, family = poisson)
R$owls_nb1_disp_reml   <- tmb("owls_nb1_disp_reml", owl, dispformula = ~ FoodTreatment, data = Owls, family = nbinom1)
R$sleep_gauss_reml     <- tmb("sleep_gauss_reml", Reaction ~ Days + (Days | Subject), data = sleepstudy,
                              family = gaussian)
R$crossed_gauss_reml   <- tmb("crossed_gauss_reml", y ~ x + (1 | plate) + (1 | sample), data = crossed,
                              family = gaussian)
R$nested_gauss_reml    <- tmb("nested_gauss_reml", y ~ x + (1 | school/classroom), data = nested, family = gaussian)
R$meta <- list(R = R.version.string, glmmTMB = as.character(packageVersion("glmmTMB")),
               TMB = as.character(packageVersion("TMB")))
writeLines(toJSON(R, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "issue19_reml_reference.json")
