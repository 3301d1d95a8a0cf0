"""Wide two-layer ReLU networks of Hong et al. 2021 (Sec. 3.2, 5.3): exact population error, a fused
simulator and the training loops of Fig. 2 and Fig. 6.

objective
    The objectives Eq. (1), (2), (7) in one parameterised form.
population
    Exact population test error and Bayes error (arc-cosine kernel, float64).
teachers
    The teachers and training data of Fig. 2 and Fig. 6.
first_layer
    The first layer as :math:`W_1` (primal) or in the row space of the inputs (Gram): two state
    objects, and the rule that picks one.
simulator
    Fused GD/SGD steps of a two-layer ReLU student: one fused pass shared by both forms of the first
    layer.
curvature
    Gauss-Newton products and top curvature (step sizes from the curvature at initialisation).
training
    The training loop (pure: no files): :class:`~.training.TrainSpec`, :class:`~.training.TrainState`,
    :func:`~.training.train`, recorded trajectories.
checkpoint
    Snapshots of long runs (resume bit for bit) and progress lines: the loop's input and output.
runs
    One training run of Fig. 2 / Fig. 6 from integer seeds: :class:`~.runs.StudentProblem`,
    :class:`~.runs.RunSpec`, :func:`~.runs.run_student`.
bench
    ``theorycheck bench relu-step``: a step's time against its two GEMMs.

The submodules are imported by name; this package imports none of them.
"""
