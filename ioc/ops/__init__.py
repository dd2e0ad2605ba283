"""The operators' and engineers' tools on top of the kernel: the ioc command, the embedded stack,
recording and replay, load tests. The kernel (the rest of ioc/) never imports this package."""
