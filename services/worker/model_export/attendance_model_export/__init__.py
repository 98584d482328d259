"""The model-pack builder (`make models`): fetches, converts and quantizes the default pack's models.

Kept apart from `attendance_worker`, which only loads a built pack: the builder's own dependencies (onnx) and its
calibration ranges never reach the worker's runtime image.
"""
