//! The assignment solver: budgeted (anytime heuristic) and exact (MILP).
