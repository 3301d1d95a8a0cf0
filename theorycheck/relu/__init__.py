"""Wide two-layer ReLU networks of Hong et al. 2021 (Sec. 3.2, 5.3): exact population error,
a fused simulator and the training loops."""
