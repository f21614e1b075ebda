//! Apply: executes a saved plan's action graph with bounded, throttle-adaptive parallelism, writing state after every completed action.
