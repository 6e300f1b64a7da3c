"""Drop-in facades of other benchmarks' APIs over ecnas tables (:mod:`ecnas.compat.nasbench101`)."""
