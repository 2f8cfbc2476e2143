# Reference values for tests/glmm/test_conditional.py (quadlib.glmm.conditional_fit: conditional logistic and
# conditional Poisson regression), written to tests/reference/conditional_reference.json.
#
# Run from the repository root:   Rscript tests/reference/conditional_reference.R   (about 10 s)
#
# Binary: survival::clogit(method = "exact"), the exact conditional likelihood (clogit's default), converged to
# coxph.control(eps = 1e-11) (default 1e-9). Poisson: the conditional (multinomial) MLE and its standard errors equal
# those of a Poisson GLM with one fixed effect per group (glm(y ~ x + factor(group), poisson), epsilon 1e-14, fitted
# without the groups of total 0, whose fixed effect is -Inf), and of gnm(y ~ x, eliminate = factor(group)). The
# conditional log-likelihood sum_i dmultinom(y_i, prob = mu_i / sum(mu_i), log = TRUE) is evaluated at the GLM's
# fitted means mu; it equals the GLM's logLik minus sum_i (n_i log n_i - n_i - lgamma(n_i + 1)).
#
# The data sets are written too (the test checks quadlib's copies of infert and MASS::epil against them), with a
# simulated longitudinal binary data set (groups of 2-15 rows, some without information, some with more events than
# non-events) and one stratum of 1000 rows and 500 events defined by a formula (x1 = sin(j), x2 = 2 cos(0.37 j),
# y = 1 if 7 j mod 10 < 5): clogit's log-likelihood, score-based fit and the time of one evaluation
# (survival:::coxexact.fit with iter.max = 0: the log-likelihood, score and information at beta) and of a fit.
suppressMessages({
  library(survival)
  library(MASS)
  library(gnm)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
refdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
ctrl <- coxph.control(eps = 1e-11, iter.max = 100)

clogit_entry <- function(formula, data, data_name, group) {
  fit <- clogit(formula, data = data, method = "exact", control = ctrl)
  default <- clogit(formula, data = data, method = "exact")
  beta <- coef(fit)
  ok <- !is.na(beta)
  list(formula = deparse(formula), data = data_name, group = group,
       coef = as.list(beta[ok]), se = as.list(sqrt(diag(vcov(fit)))[ok]),
       vcov = unname(vcov(fit)[ok, ok, drop = FALSE]), aliased = names(beta)[!ok],
       loglik = fit$loglik[2], loglik_null = fit$loglik[1], n = fit$n, nevent = fit$nevent,
       iter = fit$iter, default_coef = as.list(coef(default)[ok]))
}

conditional_poisson_loglik <- function(y, mu, group) {
  sum(sapply(split(seq_along(y), group), function(i) {
    if (sum(y[i]) == 0) return(0)
    dmultinom(y[i], prob = mu[i] / sum(mu[i]), log = TRUE)
  }))
}

poisson_entry <- function(rhs, data, data_name, group) {
  totals <- tapply(data$y, data[[group]], sum)
  sizes <- tapply(data$y, data[[group]], length)
  informative <- names(totals)[totals > 0 & sizes > 1]
  sub <- data[as.character(data[[group]]) %in% informative, ]
  sub$fe <- factor(sub[[group]])
  f <- as.formula(paste("y ~", rhs, "+ fe"))
  fit <- glm(f, family = poisson, data = sub, control = glm.control(epsilon = 1e-14, maxit = 100))
  beta <- coef(fit)
  keep <- !grepl("^(fe|\\(Intercept\\))", names(beta)) & !is.na(beta)
  aliased <- names(beta)[is.na(beta)]
  V <- vcov(fit)
  named <- names(beta)[keep]
  data$fe <- factor(data[[group]])
  gfit <- gnm(as.formula(paste("y ~", rhs)), eliminate = fe, family = poisson, data = data, tolerance = 1e-12,
              iterMax = 200, verbose = FALSE)
  gcoef <- coef(gfit)
  n_i <- tapply(sub$y, sub$fe, sum)
  list(formula = paste("y ~", rhs), data = data_name, group = group,
       coef = as.list(beta[keep]), se = as.list(sqrt(diag(V))[named]),
       vcov = unname(V[named, named, drop = FALSE]), aliased = aliased,
       loglik = conditional_poisson_loglik(sub$y, fitted(fit), sub$fe),
       glm_loglik = as.numeric(logLik(fit)),
       glm_loglik_minus_totals = as.numeric(logLik(fit)) - sum(n_i * log(n_i) - n_i - lgamma(n_i + 1)),
       loglik_null = conditional_poisson_loglik(sub$y, rep(1, nrow(sub)), sub$fe),
       n = nrow(sub), ngroups = length(informative), dropped_groups = length(totals) - length(informative),
       gnm_coef = as.list(gcoef[!is.na(gcoef)]), gnm_se = as.list(sqrt(diag(vcov(gfit)))[!is.na(gcoef)]))
}

# --- data ---------------------------------------------------------------------------------------------
infert_df <- infert
infert_df$inducedf <- factor(infert_df$induced)
infert_df$control <- 1 - infert_df$case

set.seed(20240611)
n_subjects <- 60
sizes <- sample(2:15, n_subjects, replace = TRUE)
id <- rep(sprintf("s%02d", seq_len(n_subjects)), sizes)
alpha <- rep(rnorm(n_subjects, 0, 2), sizes)
x1 <- rnorm(length(id))
x2 <- factor(sample(c("a", "b", "c"), length(id), replace = TRUE))
z <- rep(rnorm(n_subjects), sizes)                      # constant within subject: not identifiable
yb <- rbinom(length(id), 1, plogis(alpha + 0.8 * x1 + 0.5 * (x2 == "b") - 0.7 * (x2 == "c") + 0.3 * z))
longitudinal <- data.frame(id = id, y = yb, x1 = x1, x2 = as.character(x2), z = z)

epil_f <- epil
epil_f$period <- factor(epil_f$period)  # a factor, as quadlib loads it

j <- 1:1000
big <- data.frame(y = as.integer((7 * j) %% 10 < 5), x1 = sin(j), x2 = 2 * cos(0.37 * j), s = 1)

# --- fits ---------------------------------------------------------------------------------------------
fits <- list(
  infert = clogit_entry(case ~ spontaneous + induced + strata(stratum), infert_df, "infert", "stratum"),
  infert_factor = clogit_entry(case ~ spontaneous + inducedf + strata(stratum), infert_df, "infert", "stratum"),
  infert_education = clogit_entry(case ~ spontaneous + induced + education + strata(stratum), infert_df, "infert",
                                  "stratum"),
  infert_control = clogit_entry(control ~ spontaneous + induced + strata(stratum), infert_df, "infert", "stratum"),
  longitudinal = clogit_entry(y ~ x1 + x2 + z + strata(id), longitudinal, "longitudinal", "id"),
  big = clogit_entry(y ~ x1 + x2 + strata(s), big, "big", "s"),
  epil = poisson_entry("V4", epil, "epilepsy", "subject"),
  epil_interaction = poisson_entry("V4 + V4:trt", epil, "epilepsy", "subject"),
  epil_period = poisson_entry("period", epil_f, "epilepsy", "subject")
)
dropped <- tapply(longitudinal$y, longitudinal$id, function(v) all(v == 0) || all(v == 1))
fits$longitudinal$dropped_groups <- sum(dropped)
fits$longitudinal$dropped_rows <- sum(sizes[dropped])

# the 1000/500 stratum: log-likelihood, score and information at a fixed beta, and timings
xb <- as.matrix(big[, c("x1", "x2")])
yb_surv <- Surv(rep(1, 1000), big$y)
beta0 <- c(0.3, -0.2)
one_evaluation <- function() {
  survival:::coxexact.fit(xb, yb_surv, strata = rep(1L, 1000), offset = NULL, init = beta0,
                          control = coxph.control(iter.max = 0), weights = NULL, method = "exact",
                          rownames = NULL)
}
at_beta <- one_evaluation()
median_seconds <- function(f, times) {
  median(sapply(seq_len(times), function(i) system.time(f())[["elapsed"]]))
}
t_eval <- median_seconds(one_evaluation, 20)
t_fit <- median_seconds(function() clogit(y ~ x1 + x2 + strata(s), data = big, method = "exact"), 10)
fits$big$at_beta <- list(beta = beta0, loglik = at_beta$loglik[1])

out <- list(
  meta = list(script = "tests/reference/conditional_reference.R", R = R.version.string,
              survival = as.character(packageVersion("survival")), MASS = as.character(packageVersion("MASS")),
              gnm = as.character(packageVersion("gnm")), clogit_control = "coxph.control(eps = 1e-11)",
              clogit_exact_1000_500_one_evaluation_median_seconds = t_eval,
              clogit_exact_1000_500_fit_median_seconds = t_fit),
  data = list(
    infert = list(case = infert$case, spontaneous = infert$spontaneous, induced = infert$induced,
                  stratum = infert$stratum, education = as.character(infert$education), age = infert$age,
                  parity = infert$parity, pooled_stratum = infert$pooled.stratum),
    epilepsy = list(y = epil$y, trt = as.character(epil$trt), base = epil$base, age = epil$age, V4 = epil$V4,
                    subject = as.integer(as.character(epil$subject)), period = as.integer(as.character(epil$period)),
                    lbase = epil$lbase, lage = epil$lage),
    longitudinal = as.list(longitudinal)),
  fits = fits)
write_json(out, file.path(refdir, "conditional_reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat(sprintf("wrote %s\n", file.path(refdir, "conditional_reference.json")))
cat(sprintf("clogit exact, one 1000/500 stratum, p = 2: one evaluation %.1f ms, fit %.1f ms\n",
            1e3 * t_eval, 1e3 * t_fit))
