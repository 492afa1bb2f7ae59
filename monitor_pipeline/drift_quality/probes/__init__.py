"""Golden-set probes: versioned probe sets, targets that answer them, scorers, and the statistics of pass rates."""
