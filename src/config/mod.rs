//! Config: loads a stack directory of HCL, checks it against the schema and evaluates it, with diagnostics that point at file, line and column.
