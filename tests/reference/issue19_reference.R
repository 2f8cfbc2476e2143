# Reference fits for issue 19 (glmmTMB 1.1.5 / ordinal::clmm): tests/glmm/test_reference_issue19.py and
# tests/glmm/test_ordinal.py read issue19_reference.json. Run from tests/reference:
#   Rscript issue19_reference.R                 # writes issue19_reference.json (about 20 s)
#   Rscript issue19_reference.R <folder>        # also exports the four data sets, unchanged, with R's factor
#                                               # levels (factor_levels.json): what quadlib/glmm/datasets ships
# The Gcsemv fits use the rows with course observed and y = (course/100 (n - 1) + 0.5)/n (Smithson & Verkuilen
# 2006), as the test does on the shipped (complete) data set.
# glmmTMB: glmmTMBControl(optCtrl = list(rel.tol = 1e-14, x.tol = 1e-12, iter.max = 1e4, eval.max = 1e4)),
# then one restart of nlminb from the optimum (same tolerances); max |gradient| stored.
# PARAMETERIZATION NOTES (glmmTMB 1.1.5 vs quadlib):
#  * gaussian: 1.1.5's betad is log(sigma^2); glmmTMB >= 1.1.9 and quadlib use log(sigma). "disp_quadlib"
#    stores the halved coefficients (what quadlib reports as disp~...).
#  * all other families: disp = log(phi) with phi: nbinom2 theta (size); nbinom1 var = mu (1 + phi);
#    beta / betabinomial precision (shape1 = mu phi); tweedie var = phi mu^p; t scale sigma; Gamma shape.
#  * psi: tweedie p = 1 + plogis(psi); t df = exp(psi).
suppressPackageStartupMessages({library(glmmTMB); library(lme4); library(ordinal); library(jsonlite); library(mlmRev)})
ctl <- glmmTMBControl(optCtrl = list(rel.tol = 1e-14, x.tol = 1e-12, iter.max = 1e4, eval.max = 1e4), conv_check = "skip")
export_dir <- commandArgs(trailingOnly = TRUE)[1]

data(Salamanders, package = "glmmTMB"); data(Owls, package = "glmmTMB"); data(cbpp, package = "lme4")
data(wine, package = "ordinal"); data(sleepstudy, package = "lme4"); data(Gcsemv, package = "mlmRev")
Owls$logBroodSize <- log(Owls$BroodSize)
gc <- Gcsemv[!is.na(Gcsemv$course), c("school", "student", "gender", "course")]
gc$school <- factor(gc$school); n <- nrow(gc)
gc$y <- (gc$course / 100 * (n - 1) + 0.5) / n          # Smithson & Verkuilen (2006) squeeze
if (!is.na(export_dir)) {
  dir.create(export_dir, showWarnings = FALSE)
  sets <- list(Salamanders = Salamanders, Owls = Owls, wine = wine, Gcsemv = Gcsemv)
  levels_of <- lapply(sets, function(d) {
    f <- Filter(is.factor, d)
    lapply(f, function(v) list(levels = levels(v), ordered = unbox(is.ordered(v))))
  })
  for (nm in names(sets)) write.csv(sets[[nm]], file.path(export_dir, paste0(nm, ".csv")), row.names = FALSE)
  writeLines(toJSON(levels_of, auto_unbox = FALSE, pretty = TRUE), file.path(export_dir, "factor_levels.json"))
}

newton_polish <- function(obj, par, steps = 6) {
  # nlminb stops at |gradient| ~ 1e-3 on some of these (singular convergence (7) at x.tol): Newton steps with
  # the Hessian from differences of TMB's exact gradient (optimHess), kept only while the objective decreases
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
  m <- glmmTMB(..., control = ctl)
  t1 <- proc.time()[["elapsed"]]
  pol <- newton_polish(m$obj, m$fit$par)
  par <- pol$par
  m$obj$fn(par)                                   # the inner optimum at the polished parameters
  lp <- m$obj$env$last.par
  beta_joint <- unname(lp[names(lp) == "beta"])   # REML: beta at the joint mode of (b, beta)
  g <- pol$gradient
  fe <- fixef(m)
  V <- tryCatch(TMB::sdreport(m$obj, par.fixed = par)$cov.fixed, error = function(e) NULL)
  se <- if (is.null(V)) NULL else as.list(setNames(sqrt(diag(V)), names(par)))
  vc <- VarCorr(m)$cond
  re <- lapply(vc, function(v) list(sd = unname(attr(v, "stddev")), names = names(attr(v, "stddev")),
                                    corr = if (ncol(v) > 1) attr(v, "correlation")[lower.tri(v)] else NULL))
  fam <- family(m)$family
  disp <- par[names(par) == "betad"]
  out <- list(family = fam, link = family(m)$link, logLik = -pol$nll, logLik_nlminb = as.numeric(logLik(m)),
       fixef_names = lapply(fe, names), beta_at_joint_mode = beta_joint, par = unname(par), par_names = names(par), se_par = se,
       theta_note = "theta: glmmTMB's log-SD (and correlation parameters) of each term",
       ranef_sd_nlminb = re, psi = unname(par[names(par) == "psi"]),
       max_abs_gradient = max(abs(g)), max_abs_gradient_nlminb = max(abs(m$obj$gr(m$fit$par))),
       seconds = t1 - t0, df = attr(logLik(m), "df"), nobs = nobs(m))
  if (fam == "gaussian" && length(disp)) out$disp_quadlib <- as.list(disp / 2)
  cat(sprintf("%-22s logLik %.10f (nlminb %.10f) max|g| %.1e (nlminb %.1e) %.2fs\n", name, out$logLik,
              out$logLik_nlminb, out$max_abs_gradient, out$max_abs_gradient_nlminb, out$seconds))
  cat("   ", paste(sprintf("%s=%.7f", names(par), par), collapse = " "), "\n")
  if (isTRUE(list(...)$REML)) cat("    REML beta at the joint mode:", sprintf("%.7f", beta_joint), "\n")
  out
}
R <- list()
sal <- "count ~ spp + mined + (1 | site)"
R$sal_poisson       <- tmb("sal_poisson", as.formula(sal), data = Salamanders, family = poisson)
R$sal_zip           <- tmb("sal_zip", as.formula(sal), ziformula = ~ spp + mined, data = Salamanders, family = poisson)
R$sal_zinb2         <- tmb("sal_zinb2", as.formula(sal), ziformula = ~ spp + mined, data = Salamanders, family = nbinom2)
R$sal_zinb1         <- tmb("sal_zinb1", as.formula(sal), ziformula = ~ spp + mined, data = Salamanders, family = nbinom1)
R$sal_hurdle_poisson<- tmb("sal_hurdle_poisson", as.formula(sal), ziformula = ~ spp + mined, data = Salamanders, family = truncated_poisson)
R$sal_hurdle_nb2    <- tmb("sal_hurdle_nb2", as.formula(sal), ziformula = ~ spp + mined, data = Salamanders, family = truncated_nbinom2)
R$sal_zip_1         <- tmb("sal_zip_1", as.formula(sal), ziformula = ~ 1, data = Salamanders, family = poisson)
owl <- "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)"
R$owls_nb1          <- tmb("owls_nb1", as.formula(owl), data = Owls, family = nbinom1)
R$owls_zinb1        <- tmb("owls_zinb1", as.formula(owl), ziformula = ~ 1, data = Owls, family = nbinom1)
R$owls_nb2_disp     <- tmb("owls_nb2_disp", as.formula(owl), dispformula = ~ FoodTreatment, data = Owls, family = nbinom2)
R$owls_tweedie      <- tmb("owls_tweedie", NegPerChick ~ FoodTreatment * SexParent + (1 | Nest), data = Owls, family = tweedie)
R$cbpp_betabinomial <- tmb("cbpp_betabinomial", cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = betabinomial)
R$cbpp_binomial_reml<- tmb("cbpp_binomial_reml", cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial, REML = TRUE)
R$gcse_beta         <- tmb("gcse_beta", y ~ gender + (1 | school), data = gc, family = beta_family)
R$gcse_beta_disp    <- tmb("gcse_beta_disp", y ~ gender + (1 | school), dispformula = ~ gender, data = gc, family = beta_family)
R$sleep_t           <- tmb("sleep_t", Reaction ~ Days + (Days | Subject), data = sleepstudy, family = t_family)
R$sleep_gauss_disp  <- tmb("sleep_gauss_disp", Reaction ~ Days + (1 | Subject), dispformula = ~ Days, data = sleepstudy, family = gaussian)
R$sleep_gauss_reml  <- tmb("sleep_gauss_reml", Reaction ~ Days + (Days | Subject), data = sleepstudy, family = gaussian, REML = TRUE)
R$sal_poisson_reml  <- tmb("sal_poisson_reml", as.formula(sal), data = Salamanders, family = poisson, REML = TRUE)
R$owls_nb2_reml     <- tmb("owls_nb2_reml", as.formula(owl), data = Owls, family = nbinom2, REML = TRUE)
lm_reml <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE,
                control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5)))
R$sleep_lmer_reml <- list(logLik = as.numeric(logLik(lm_reml)), fixef = as.list(fixef(lm_reml)), sigma = sigma(lm_reml))
cat(sprintf("%-28s logLik %.10f\n", "sleep_lmer_reml", R$sleep_lmer_reml$logLik))

clm_fit <- function(name, link, nAGQ) {
  t0 <- proc.time()[["elapsed"]]
  m <- clmm(rating ~ temp + contact + (1 | judge), data = wine, link = link, nAGQ = nAGQ, Hess = TRUE,
            control = clmm.control(gradTol = 1e-10, method = "nlminb", maxIter = 1e4, innerCtrl = "noWarn"))
  t1 <- proc.time()[["elapsed"]]
  s <- coef(summary(m))
  out <- list(link = link, nAGQ = nAGQ, logLik = as.numeric(logLik(m)), coef = as.list(coef(m)),
       se = as.list(s[, "Std. Error"]), judge_sd = unname(attr(VarCorr(m)$judge, "stddev")),
       max_abs_gradient = max(abs(m$gradient)), seconds = t1 - t0)
  cat(sprintf("%-22s logLik %.10f  max|g| %.1e  %.2fs\n", name, out$logLik, out$max_abs_gradient, out$seconds))
  cat("   ", paste(sprintf("%s=%.7f", names(coef(m)), coef(m)), collapse = " "), " judge_sd=", out$judge_sd, "\n")
  out
}
R$wine_logit_laplace  <- clm_fit("wine_logit_laplace", "logit", 1)
R$wine_logit_agq10    <- clm_fit("wine_logit_agq10", "logit", 10)
R$wine_probit_laplace <- clm_fit("wine_probit_laplace", "probit", 1)
R$wine_cloglog_laplace<- clm_fit("wine_cloglog_laplace", "cloglog", 1)
# ordinal 2022.11.16's clmm SWAPS cloglog and loglog (clm does not): clmm(link = "cloglog") fits
# P(Y <= j) = exp(-exp(-(theta_j - eta))) and link = "loglog" fits 1 - exp(-exp(theta_j - eta)) (checked by exact
# integration per judge: cll2.R). The cloglog reference for quadlib is therefore clmm's "loglog" fit:
R$wine_loglog_laplace <- clm_fit("wine_loglog_laplace (= cloglog model)", "loglog", 1)
R$wine_cloglog_note <- "clmm swaps cloglog/loglog in ordinal 2022.11.16: quadlib's cloglog = wine_loglog_laplace"
R$meta <- list(R = R.version.string, glmmTMB = as.character(packageVersion("glmmTMB")),
               TMB = as.character(packageVersion("TMB")), ordinal = as.character(packageVersion("ordinal")),
               lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(R, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "issue19_reference.json")
