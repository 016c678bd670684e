"""The frame path on MediaPipe's own models, run bare by LiteRT (issue 15, item 1).

The same `.tflite` files the mediapipe wheel ships (face detection, short and full range, and
the face mesh) run through `ai-edge-litert` with MediaPipe's pre- and post-processing written
out here (`detection`, `mesh`), so a worker pays for the arithmetic and little else; `frames`
puts them together as `proctoring.detectors.faces` does, with the cascade that spares the
full-range model and the magnified search on most frames. MediaPipe itself stays the oracle:
proctoring/tests/test_detectors_lite.py runs both on every face fixture.
"""
