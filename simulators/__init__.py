"""Simulators: numpy models of traffic, health-card, lighting and environment sensors on a simulated clock."""
