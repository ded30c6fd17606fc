"""Prediction: land cover and heights from an orthophoto with a trained network.

- :mod:`reconstruction.prediction.weights` -- shipped and fine-tuned weights: ``load_weights``, ``export_weights``.
- :mod:`reconstruction.prediction.predict` -- ``predict_area``: classes, height and confidence on the working grid.

Importing this package does not import torch; the submodules do.
"""
