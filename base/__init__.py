"""The ground floor every package builds on: errors, atomic files, locks, cores and torch threads, and the
layout of a run directory. It imports nothing of the project."""
