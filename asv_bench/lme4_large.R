# Time one lme4 (or glmmTMB) binomial GLMM fit on a CSV data set and print one JSON line.
#
#   Rscript asv_bench/lme4_large.R data.csv "y ~ x + (1 | g)" nAGQ [glmmTMB] [repeats]
#
# data.csv: e.g. from asv_bench/benchmarks/_simulate.py (columns g, x, y), or an R data set given
# as pkg::name (e.g. lme4::cbpp, whose herd/period are factors; the formula may use cbind()). The fit uses the DEFAULT control of each package
# (this is a speed comparison: glmer(..., family = binomial, nAGQ = nAGQ) /
# glmmTMB(..., family = binomial)); reading the CSV is not timed. 'seconds' is the elapsed time of
# one fit, or the median over 'repeats' fits (default 1); cpu_seconds the same for user+system CPU
# time of the R process (less sensitive to other load on the machine).
# Output: {"tool", "version", "formula", "nAGQ", "n", "seconds", "seconds_all", "cpu_seconds",
#          "logLik", "beta", "sd", "corr", "messages"}
suppressMessages({library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: Rscript asv_bench/lme4_large.R data.csv formula nAGQ [glmmTMB|lme4] [repeats]")
path <- args[1]
form <- as.formula(args[2])
nagq <- as.integer(args[3])
tool <- if (length(args) >= 4) args[4] else "lme4"
repeats <- if (length(args) >= 5) as.integer(args[5]) else 1L
if (!(tool %in% c("lme4", "glmmTMB"))) stop("tool must be lme4 or glmmTMB")
if (tool == "glmmTMB" && nagq != 1) stop("glmmTMB fits by the Laplace approximation only (nAGQ = 1)")

if (grepl("::", path, fixed = TRUE)) {
  dat <- eval(parse(text = path))  # an R data set, e.g. lme4::cbpp (factors as R defines them)
} else {
  dat <- read.csv(path, stringsAsFactors = TRUE)
}
for (v in names(dat)) if (is.character(dat[[v]])) dat[[v]] <- factor(dat[[v]])

msgs <- character(0)
collect <- function(expr) withCallingHandlers(expr,
  warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") },
  message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") })

if (tool == "lme4") {
  suppressMessages(library(lme4))
  version <- as.character(packageVersion("lme4"))
  fitfun <- function() glmer(form, data = dat, family = binomial, nAGQ = nagq)
} else {
  suppressMessages(library(glmmTMB))
  version <- as.character(packageVersion("glmmTMB"))
  fitfun <- function() glmmTMB(form, data = dat, family = binomial)
}
invisible(gc())
secs <- cpu <- numeric(repeats)
for (i in seq_len(repeats)) {
  t0 <- proc.time()
  fit <- collect(fitfun())
  dt <- proc.time() - t0
  secs[i] <- dt[["elapsed"]]
  cpu[i] <- dt[["user.self"]] + dt[["sys.self"]]
}

if (tool == "lme4") {
  beta <- fixef(fit)
  vc <- VarCorr(fit)
  if (length(fit@optinfo$conv$lme4$messages)) msgs <- c(msgs, fit@optinfo$conv$lme4$messages)
} else {
  beta <- fixef(fit)$cond
  vc <- VarCorr(fit)$cond
  if (!isTRUE(fit$sdr$pdHess)) msgs <- c(msgs, "glmmTMB: non-positive-definite Hessian")
  if (fit$fit$convergence != 0) msgs <- c(msgs, paste("nlminb:", fit$fit$message))
}
sd <- list(); corr <- list()
for (g in names(vc)) {
  s <- attr(vc[[g]], "stddev")
  for (k in names(s)) sd[[paste0(g, ".", k)]] <- unname(s[[k]])
  cr <- attr(vc[[g]], "correlation")
  if (length(s) > 1) for (i in 1:(length(s) - 1)) for (j in (i + 1):length(s))
    corr[[paste0(g, ".", names(s)[i], ":", names(s)[j])]] <- cr[i, j]
}
out <- list(tool = tool, version = version, formula = args[2], nAGQ = nagq, n = nrow(dat),
            seconds = median(secs), seconds_all = I(secs), cpu_seconds = median(cpu),
            logLik = as.numeric(logLik(fit)), beta = as.list(beta), sd = sd,
            corr = if (length(corr)) corr else setNames(list(), character(0)),
            messages = unique(msgs))
cat(toJSON(out, auto_unbox = TRUE, digits = NA), "\n")
