# Reference values for tests/glmm/test_pql.py (quadlib.glmm.pql, penalized quasi-likelihood), from
# MASS::glmmPQL, written to tests/reference/pql_reference.json (and the simulated binary data set
# tests/reference/pql_binary.csv).
#
# Run from the repository root:   Rscript tests/reference/pql_reference.R   (a few seconds)
#
# glmmPQL (MASS) iterates working linear mixed models fitted by nlme::lme with method = "ML" (it sets
# mcall$method <- "ML"; lme's own default, REML, is not used) and stops when
# sum((eta - eta_old)^2) < 1e-6 sum(eta^2), at most niter = 10 times. Per model two fits are stored:
#   "default":   glmmPQL as it is (what users see; its stopping rule leaves 1e-5 to 1e-4 in the estimates), and
#   "converged": the same function with that tolerance changed to 1e-20 (a textual substitution in the
#                body of MASS::glmmPQL, nothing else changed), niter = 100, and lme's optimizer run to
#                msTol = 1e-15 -- the fixed point of the iteration, which quadlib's tol = 1e-8 targets;
#   "first":     glmmPQL with niter = 1 (and the tight lme control): the first working LMM, from the GLM.
# Dispersion: "estimate" is glmmPQL's default (the residual variance sigma^2 of the working LMM is the
# dispersion); "fixed" passes control = lmeControl(sigma = 1) (nlme >= 3.1-123 fixes the residual SD).
# Per fit: fixef, the standard errors of summary()$tTable ("se": summary.lme's adjustSigma multiplies the
# ML ones by sqrt(N / (N - p)), also when sigma is fixed) and of vcov() ("se_vcov", not adjusted), the
# random-effect covariance matrix (getVarCov)
# and SDs, sigma, the number of glmmPQL iterations and the conditional modes (ranef).
suppressMessages({
  library(MASS)
  library(nlme)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
refdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

cbpp <- lme4::cbpp
# binary data with few observations per group (the setting of docs/pql.rst): 100 groups of 5, written to
# tests/reference/pql_binary.csv
set.seed(613)
binary <- local({
  group <- rep(1:100, each = 5)
  x <- rnorm(500)
  eta <- -0.5 + x + rnorm(100, sd = 2)[group]
  data.frame(y = rbinom(500, 1, plogis(eta)), x = x, group = factor(group))
})
write.csv(binary, file.path(refdir, "pql_binary.csv"), row.names = FALSE)
epil <- MASS::epil
epil$visit <- (2 * as.numeric(epil$period) - 5) / 10  # Breslow & Clayton's (1993) Visit covariate

tight_pql <- MASS::glmmPQL
body(tight_pql) <- parse(text = sub("1e-06 * sum(eta^2)", "1e-20 * sum(eta^2)",
                                    paste(deparse(body(MASS::glmmPQL), width.cutoff = 500L), collapse = "\n"),
                                    fixed = TRUE))[[1]]
stopifnot(!identical(body(tight_pql), body(MASS::glmmPQL)))
environment(tight_pql) <- asNamespace("MASS")

iterations <- function(expr) {
  # glmmPQL reports "iteration k" as a message per working LMM
  n <- 0L
  value <- withCallingHandlers(expr, message = function(m) {
    if (grepl("^iteration", conditionMessage(m))) n <<- n + 1L
    invokeRestart("muffleMessage")
  })
  list(fit = value, n = n)
}

entry <- function(run, spec) {
  fit <- run$fit
  cov_re <- getVarCov(fit)
  sds <- sqrt(diag(cov_re))  # full precision (VarCorr prints rounded strings)
  re <- ranef(fit)
  list(formula = spec$formula, family = spec$family, link = spec$link, data = spec$data,
       dispersion = spec$dispersion, n_iter = run$n,
       fixef = as.list(fixef(fit)), se = as.list(summary(fit)$tTable[, "Std.Error"]),
       se_vcov = as.list(sqrt(diag(vcov(fit)))),
       sd_re = as.list(sds), cov_re = matrix(unclass(cov_re), nrow(cov_re)), sigma = fit$sigma,
       ranef = list(levels = rownames(re), columns = colnames(re), mode = unname(as.matrix(re))))
}

fit_both <- function(spec) {
  ctrl <- if (spec$dispersion == "fixed") lmeControl(sigma = 1) else lmeControl()
  tight <- ctrl
  tight$msTol <- 1e-15
  tight$tolerance <- 1e-12
  tight$msMaxIter <- 1000
  tight$msMaxEval <- 5000
  fam <- get(spec$family)(link = spec$link)
  data <- get(spec$data)
  # do.call: glmmPQL puts `control` unevaluated into the lme call it evaluates in its own frame
  default <- iterations(do.call(glmmPQL, list(spec$fixed, random = spec$random, family = fam, data = data,
                                              control = ctrl)))
  converged <- iterations(do.call(tight_pql, list(spec$fixed, random = spec$random, family = fam, data = data,
                                                  control = tight, niter = 100)))
  first <- iterations(do.call(glmmPQL, list(spec$fixed, random = spec$random, family = fam, data = data,
                                            control = tight, niter = 1)))
  list(default = entry(default, spec), converged = entry(converged, spec), first = entry(first, spec))
}

specs <- list(
  cbpp = list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
              fixed = cbind(incidence, size - incidence) ~ period, random = ~ 1 | herd,
              family = "binomial", link = "logit", data = "cbpp", dispersion = "estimate"),
  cbpp_fixed = list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                    fixed = cbind(incidence, size - incidence) ~ period, random = ~ 1 | herd,
                    family = "binomial", link = "logit", data = "cbpp", dispersion = "fixed"),
  cbpp_probit = list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                     fixed = cbind(incidence, size - incidence) ~ period, random = ~ 1 | herd,
                     family = "binomial", link = "probit", data = "cbpp", dispersion = "estimate"),
  binary = list(formula = "y ~ x + (1 | group)", fixed = y ~ x, random = ~ 1 | group,
                family = "binomial", link = "logit", data = "binary", dispersion = "estimate"),
  binary_fixed = list(formula = "y ~ x + (1 | group)", fixed = y ~ x, random = ~ 1 | group,
                      family = "binomial", link = "logit", data = "binary", dispersion = "fixed"),
  epil = list(formula = "y ~ lbase * trt + lage + V4 + (1 | subject)",
              fixed = y ~ lbase * trt + lage + V4, random = ~ 1 | subject,
              family = "poisson", link = "log", data = "epil", dispersion = "estimate"),
  epil_fixed_offset = list(formula = "y ~ trt + lage + V4 + offset(lbase) + (1 | subject)",
                           fixed = y ~ trt + lage + V4 + offset(lbase), random = ~ 1 | subject,
                           family = "poisson", link = "log", data = "epil", dispersion = "fixed"),
  epil_slope = list(formula = "y ~ lbase * trt + lage + visit + (visit | subject)",
                    fixed = y ~ lbase * trt + lage + visit, random = ~ visit | subject,
                    family = "poisson", link = "log", data = "epil", dispersion = "estimate")
)

fits <- lapply(specs, fit_both)
out <- list(
  source = paste0("MASS ", packageVersion("MASS"), ", nlme ", packageVersion("nlme"), ", ", R.version.string),
  fits = fits)
writeLines(toJSON(out, digits = I(15), auto_unbox = TRUE, pretty = TRUE), file.path(refdir, "pql_reference.json"))
for (k in names(fits)) {
  for (which in c("default", "converged")) {
    e <- fits[[k]][[which]]
    cat(sprintf("%-18s %-9s n_iter %3d  beta %s  sd_re %s  sigma %.6f\n", k, which, e$n_iter,
                paste(sprintf("%.6f", unlist(e$fixef)), collapse = " "),
                paste(sprintf("%.6f", unlist(e$sd_re)), collapse = " "), e$sigma))
  }
}
