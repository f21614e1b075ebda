//! DR: backup policies (snapshot, cross-region copy, retention, restore test) and multi-region redeploy (drill, failover, failback).
