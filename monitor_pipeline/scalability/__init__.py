"""Scalability monitoring: batch-size, length and concurrency sweeps, polynomial fits, comparison across runs."""
