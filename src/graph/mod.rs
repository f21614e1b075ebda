//! Graph: expands a config for one environment into resource instances with stable addresses and builds the dependency DAG.
