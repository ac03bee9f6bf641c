"""ONNX export of MusicGen's parts, cached per model and precision with a manifest."""

from inference.export.onnx_export import EXPORT_FORMAT, ExportedModel, ensure_exported

__all__ = ["EXPORT_FORMAT", "ExportedModel", "ensure_exported"]
