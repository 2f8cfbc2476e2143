# Reference values for tests/test_glmm.py, from R (lme4 with tolPwrss = 1e-12, and glmmTMB).
# Run: Rscript tests/reference/glmm_reference.R   (prints the numbers stored in the test)
suppressMessages({library(lme4); library(glmmTMB)})
options(digits = 12)
cbpp <- lme4::cbpp
ctrl <- glmerControl(tolPwrss = 1e-12, optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
show <- function(label, fit) {
  cat("##", label, "\n")
  cat("beta:", format(fixef(fit), digits = 12), "\n")
  cat("sigma:", format(attr(VarCorr(fit)[[1]], "stddev"), digits = 12), "\n")
  cat("logLik:", format(as.numeric(logLik(fit)), digits = 14), "\n")
  cat("se:", format(sqrt(diag(as.matrix(vcov(fit)))), digits = 10), "\n")
}
f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
show("lme4 Laplace", glmer(f, data = cbpp, family = binomial, control = ctrl))
show("lme4 AGQ 25", glmer(f, data = cbpp, family = binomial, nAGQ = 25, control = ctrl))
tmb <- glmmTMB(f, data = cbpp, family = binomial, control = glmmTMBControl(optCtrl = list(rel.tol = 1e-14, x.tol = 1e-12)))
cat("## glmmTMB Laplace\n")
cat("beta:", format(fixef(tmb)$cond, digits = 12), "\n")
cat("sigma:", format(attr(VarCorr(tmb)$cond$herd, "stddev"), digits = 12), "\n")
cat("logLik:", format(as.numeric(logLik(tmb)), digits = 14), "\n")
cat("se:", format(sqrt(diag(vcov(tmb)$cond)), digits = 10), "\n")
epil <- MASS::epil
fe <- y ~ lbase * trt + lage + V4 + (1 | subject)
for (k in c(1, 20)) {
  fit <- glmer(fe, data = epil, family = poisson, nAGQ = k, control = ctrl)
  cat("## lme4 epilepsy nAGQ", k, "\n")
  cat("beta:", format(fixef(fit), digits = 12), "\n")
  cat("names:", names(fixef(fit)), "\n")
  cat("sigma:", format(attr(VarCorr(fit)$subject, "stddev"), digits = 12), "\n")
  cat("logLik:", format(as.numeric(logLik(fit)), digits = 14), "\n")
}
