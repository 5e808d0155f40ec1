"""Op tables: ONNX ops the front end accepts and runtime ops the integer program uses."""
