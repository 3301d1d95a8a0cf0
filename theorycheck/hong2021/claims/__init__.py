"""The claims of Hong et al. 2021: declarations only (parameters per scale, criteria, measurement,
verdict, figure). ``theorems12``: Theorems 1 and 2; ``theorem3``: Theorem 3; ``figs2_6``: Fig. 2 and
Fig. 6; ``regime``: Fig. 3 and Table 2."""
