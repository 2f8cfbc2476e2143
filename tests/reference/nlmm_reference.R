# Reference values for tests/glmm/test_nlmm.py (quadlib.glmm.nlmm, nonlinear mixed-effects models), written to
# tests/reference/nlmm_reference.json.
#
# Run from the repository root:   Rscript tests/reference/nlmm_reference.R   (about 25 s)
#
# Models (R's datasets Orange and Theoph, shipped as quadlib.glmm.datasets "orange" and "theoph"):
#   Orange: circumference ~ SSlogis(age, Asym, xmid, scal), Asym random by Tree.
#   Theoph: conc ~ SSfol(Dose, Time, lKe, lKa, lCl), diagonal random effects on lKa and lCl by Subject;
#           and with an unstructured covariance of the two.
#
# Per model and peer, two fits:
#   "default":   the call as in the issue (nlme ML / nlmer Laplace with default controls);
#   "converged": nlme with nlmeControl(tolerance = 1e-10, pnlsTol = 1e-10, msTol = 1e-14, ...), a fixed point of the
#                Lindstrom-Bates iteration to ~1e-9 (pnlsTol = 1e-6 for the unstructured Theoph model);
#                for nlmer, whose deviance function is noisy at ~1e-6 (its penalized least-squares step stops at
#                tolPwrss) so that its optimizers stop short along flat directions, the same Laplace deviance
#                (Gauss-Newton curvature, sigma profiled: ldL2 + n (1 + log(2 pi pwrss / n)), as nlmer's
#                nlsResp::Laplace) written out below with the selfStart models' analytic gradients, the modes
#                solved to 1e-13, and minimized by nlminb (rel.tol 1e-14) from nlmer's default fit. nlmer's own
#                deviance function (devFunOnly = TRUE) is evaluated at both points ("nlmer_devfun").
# Per fit: fixef, se (sqrt(diag(vcov)); for the converged Laplace fits from optimHess of the deviance), sd of the
# random effects, sigma, logLik.
# Timing: median elapsed seconds of 7 default fits.
suppressMessages({
  library(nlme)
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
refdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

tight <- nlmeControl(maxIter = 500, pnlsMaxIter = 100, msMaxIter = 500, tolerance = 1e-10, pnlsTol = 1e-10,
                     msTol = 1e-14, niterEM = 100)

nlme_entry <- function(fit, call) {
  D <- pdMatrix(fit$modelStruct$reStruct)[[1]] * fit$sigma^2  # VarCorr() gives rounded strings
  list(call = call, fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(vcov(fit)))),
       sd = as.list(setNames(sqrt(diag(D)), colnames(D))), sigma = fit$sigma,
       logLik = as.numeric(logLik(fit)), df = attr(logLik(fit), "df"), nobs = fit$dims$N,
       iterations = fit$numIter)
}

nlmer_entry <- function(fit, call) {
  vc <- as.data.frame(VarCorr(fit))
  vc <- vc[vc$grp != "Residual" & is.na(vc$var2), ]
  # vcov(): nlmer's finite-difference Hessian is not positive definite here; lme4 falls back to RX (warning)
  se <- suppressWarnings(sqrt(diag(as.matrix(vcov(fit)))))
  list(call = call, fixef = as.list(fixef(fit)), se = as.list(se), sd = as.list(setNames(vc$sdcor, vc$var1)),
       theta = as.list(getME(fit, "theta")), sigma = sigma(fit),
       logLik = as.numeric(logLik(fit)), df = attr(logLik(fit), "df"), nobs = nobs(fit))
}

# nlmer's Laplace deviance, modes to 1e-13: pars = c(theta, beta), b = Lambda u with Lambda = lambda(theta)
# (lme4's relative covariance factor); model(phi) returns the predictions with their gradient.
laplace_deviance <- function(model, y, group, random, lambda, n_theta) {
  group <- as.integer(factor(group, levels = unique(group)))
  M <- max(group)
  q <- length(random)
  function(pars) {
    Lambda <- lambda(pars[seq_len(n_theta)])
    beta <- pars[-seq_len(n_theta)]
    u <- matrix(0, M, q)
    eval_at <- function(u) {
      phi <- matrix(beta, length(y), length(beta), byrow = TRUE)
      phi[, random] <- phi[, random] + u[group, , drop = FALSE] %*% t(Lambda)
      v <- model(phi)
      r <- y - as.numeric(v)
      list(r = r, Ju = attr(v, "gradient")[, random, drop = FALSE] %*% Lambda, pwrss = sum(r^2) + sum(u^2))
    }
    cur <- eval_at(u)
    for (it in 1:200) {
      du <- matrix(0, M, q)
      for (g in 1:M) {
        rows <- group == g
        J <- cur$Ju[rows, , drop = FALSE]
        du[g, ] <- solve(crossprod(J) + diag(q), crossprod(J, cur$r[rows]) - u[g, ])
      }
      t <- 1
      repeat {
        new <- eval_at(u + t * du)
        if (new$pwrss <= cur$pwrss * (1 + 1e-15) || t < 1e-10) break
        t <- t / 2
      }
      u <- u + t * du
      cur <- new
      if (max(abs(du)) < 1e-13) break
    }
    ldL2 <- 0
    for (g in 1:M) {
      J <- cur$Ju[group == g, , drop = FALSE]
      ldL2 <- ldL2 + as.numeric(determinant(crossprod(J) + diag(q))$modulus)
    }
    n <- length(y)
    structure(ldL2 + n * (1 + log(2 * pi * cur$pwrss / n)), sigma = sqrt(cur$pwrss / n))
  }
}

diagonal_lambda <- function(theta) diag(theta, length(theta))
lower_lambda <- function(theta) {  # lme4's order: the lower triangle column by column (q = 2)
  matrix(c(theta[1], theta[2], 0, theta[3]), 2, 2)
}

converged_laplace <- function(default_fit, deviance, devfun, lower_theta, lambda, pnames, rnames, call) {
  start <- c(getME(default_fit, "theta"), fixef(default_fit))
  n_theta <- length(lower_theta)
  opt <- nlminb(start, function(p) as.numeric(deviance(p)), lower = c(lower_theta, rep(-Inf, length(pnames))),
                control = list(rel.tol = 1e-14, x.tol = 1e-12, eval.max = 1e4, iter.max = 1e4))
  par <- opt$par
  dev <- deviance(par)
  sigma <- attr(dev, "sigma")
  theta <- par[seq_len(n_theta)]
  Lambda <- lambda(theta)
  D <- sigma^2 * Lambda %*% t(Lambda)
  # standard errors of beta from the Hessian of the deviance over (theta, beta), sigma profiled (the beta block
  # of the inverse Hessian does not depend on how the other parameters are profiled or parametrized)
  H <- optimHess(par, function(p) as.numeric(deviance(p)) / 2, control = list(ndeps = 1e-3 * pmax(abs(par), 1)))
  se <- sqrt(diag(solve(H)))[-seq_len(n_theta)]
  out <- list(call = call, fixef = as.list(setNames(par[-seq_len(n_theta)], pnames)),
              se = as.list(setNames(se, pnames)), sd = as.list(setNames(sqrt(diag(D)), rnames)),
              theta = unname(theta), sigma = sigma, logLik = -as.numeric(dev) / 2, nlminb_message = opt$message,
              nlmer_devfun = list(at_converged = devfun(unname(par)), at_default = devfun(unname(start))))
  if (length(rnames) == 2 && D[1, 2] != 0) out$corr <- D[1, 2] / sqrt(D[1, 1] * D[2, 2])
  out
}

timed <- function(expr, n = 7) {
  expr <- substitute(expr)
  env <- parent.frame()
  median(replicate(n, system.time(eval(expr, env))[["elapsed"]]))
}

out <- list(versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                            lme4 = as.character(packageVersion("lme4"))),
            fits = list(), timings = list())

# ---------------------------------------------------------------------------------------------------- Orange
call <- paste("nlme(circumference ~ SSlogis(age, Asym, xmid, scal), data = Orange, fixed = Asym + xmid + scal ~ 1,",
              "random = Asym ~ 1 | Tree, start = c(Asym = 170, xmid = 700, scal = 350), method = 'ML')")
o_nlme <- nlme(circumference ~ SSlogis(age, Asym, xmid, scal), data = Orange, fixed = Asym + xmid + scal ~ 1,
               random = Asym ~ 1 | Tree, start = c(Asym = 170, xmid = 700, scal = 350), method = "ML")
o_nlme_tight <- update(o_nlme, control = tight)
out$fits$orange_nlme <- list(default = nlme_entry(o_nlme, call),
                             converged = nlme_entry(o_nlme_tight, paste(call, "+ tight nlmeControl")))

call <- paste("nlmer(circumference ~ SSlogis(age, Asym, xmid, scal) ~ Asym | Tree, Orange,",
              "start = c(Asym = 200, xmid = 725, scal = 350))")
o_nlmer <- nlmer(circumference ~ SSlogis(age, Asym, xmid, scal) ~ Asym | Tree, Orange,
                 start = c(Asym = 200, xmid = 725, scal = 350))
o_devfun <- nlmer(circumference ~ SSlogis(age, Asym, xmid, scal) ~ Asym | Tree, Orange,
                  start = c(Asym = 200, xmid = 725, scal = 350), devFunOnly = TRUE)
orange_model <- function(phi) {  # selfStart models attach their gradient when called with names
  age <- Orange$age
  Asym <- phi[, 1]
  xmid <- phi[, 2]
  scal <- phi[, 3]
  SSlogis(age, Asym, xmid, scal)
}
out$fits$orange_nlmer <- list(
  default = nlmer_entry(o_nlmer, call),
  converged = converged_laplace(o_nlmer, laplace_deviance(orange_model, Orange$circumference, Orange$Tree, 1,
                                                           diagonal_lambda, 1),
                                o_devfun, 0, diagonal_lambda, c("Asym", "xmid", "scal"), "Asym",
                                "nlmer's Laplace deviance (written out) minimized by nlminb, rel.tol 1e-14"))

# ---------------------------------------------------------------------------------------------------- Theoph
call <- paste("nlme(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph, fixed = lKe + lKa + lCl ~ 1,",
              "random = pdDiag(lKa + lCl ~ 1), groups = ~Subject, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2),",
              "method = 'ML')")
t_nlme <- nlme(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph, fixed = lKe + lKa + lCl ~ 1,
               random = pdDiag(lKa + lCl ~ 1), groups = ~Subject, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2),
               method = "ML")
t_nlme_tight <- update(t_nlme, control = tight)
out$fits$theoph_nlme <- list(default = nlme_entry(t_nlme, call),
                             converged = nlme_entry(t_nlme_tight, paste(call, "+ tight nlmeControl")))

sv <- c(lKe = -2.4, lKa = 0.45, lCl = -3.2)
call <- paste("nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa | Subject) +",
              "(0 + lCl | Subject), Theoph, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2))")
t_nlmer <- nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa | Subject) +
                   (0 + lCl | Subject), Theoph, start = sv)
t_devfun <- nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa | Subject) +
                    (0 + lCl | Subject), Theoph, start = sv, devFunOnly = TRUE)
theoph_model <- function(phi) {
  Dose <- Theoph$Dose
  Time <- Theoph$Time
  lKe <- phi[, 1]
  lKa <- phi[, 2]
  lCl <- phi[, 3]
  SSfol(Dose, Time, lKe, lKa, lCl)
}
out$fits$theoph_nlmer <- list(
  default = nlmer_entry(t_nlmer, call),
  converged = converged_laplace(t_nlmer, laplace_deviance(theoph_model, Theoph$conc, Theoph$Subject, 2:3,
                                                           diagonal_lambda, 2),
                                t_devfun, c(0, 0), diagonal_lambda, c("lKe", "lKa", "lCl"), c("lKa", "lCl"),
                                "nlmer's Laplace deviance (written out) minimized by nlminb, rel.tol 1e-14"))

# unstructured covariance of (lKa, lCl): nlme's default pdLogChol, nlmer's (0 + lKa + lCl | Subject)
call <- paste("nlme(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph, fixed = lKe + lKa + lCl ~ 1,",
              "random = lKa + lCl ~ 1, groups = ~Subject, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2),",
              "method = 'ML')")
u_nlme <- nlme(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph, fixed = lKe + lKa + lCl ~ 1,
               random = lKa + lCl ~ 1, groups = ~Subject, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2),
               method = "ML")
# pnlsTol below 1e-6 stops nlme here ("step halving factor reduced below minimum in PNLS step")
u_nlme_tight <- update(u_nlme, control = nlmeControl(maxIter = 500, pnlsMaxIter = 100, msMaxIter = 500,
                                                     tolerance = 1e-10, pnlsTol = 1e-6, msTol = 1e-14,
                                                     niterEM = 100))
corr_of <- function(fit) {
  D <- pdMatrix(fit$modelStruct$reStruct)[[1]]
  D[1, 2] / sqrt(D[1, 1] * D[2, 2])
}
out$fits$theoph_unstructured_nlme <- list(
  default = c(nlme_entry(u_nlme, call), corr = corr_of(u_nlme)),
  converged = c(nlme_entry(u_nlme_tight, paste(call, "+ tight nlmeControl (pnlsTol = 1e-6)")),
                corr = corr_of(u_nlme_tight)))

call <- paste("nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa + lCl | Subject),",
              "Theoph, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2))")
u_nlmer <- nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa + lCl | Subject),
                 Theoph, start = sv)
u_devfun <- nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa + lCl | Subject),
                  Theoph, start = sv, devFunOnly = TRUE)
out$fits$theoph_unstructured_nlmer <- list(
  default = nlmer_entry(u_nlmer, call),
  converged = converged_laplace(u_nlmer, laplace_deviance(theoph_model, Theoph$conc, Theoph$Subject, 2:3,
                                                           lower_lambda, 3),
                                u_devfun, c(0, -Inf, 0), lower_lambda, c("lKe", "lKa", "lCl"), c("lKa", "lCl"),
                                "nlmer's Laplace deviance (written out) minimized by nlminb, rel.tol 1e-14"))

# ---------------------------------------------------------------------------------------------------- timings
out$timings <- list(
  orange_nlme = timed(update(o_nlme)),
  orange_nlmer = timed(nlmer(circumference ~ SSlogis(age, Asym, xmid, scal) ~ Asym | Tree, Orange,
                             start = c(Asym = 200, xmid = 725, scal = 350))),
  theoph_nlme = timed(update(t_nlme)),
  theoph_nlmer = timed(nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa | Subject) +
                               (0 + lCl | Subject), Theoph, start = sv)),
  note = "median elapsed seconds of 7 default fits")

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(refdir, "nlmm_reference.json"))
cat("wrote", file.path(refdir, "nlmm_reference.json"), "\n")
