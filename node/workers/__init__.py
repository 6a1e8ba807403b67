"""Background workers that follow the node's log (each on ``infra.log_follower``): the deadline timer and the
reliance watcher. They call use cases; the composition root builds them and the runner runs them."""
