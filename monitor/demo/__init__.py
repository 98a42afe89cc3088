"""`vakt demo`: simulated and hostile targets, SMTP sink, mailbox view, scenario.

`monitor.demo.targets` is the target fleet; tests and benchmarks import it from there.
"""
