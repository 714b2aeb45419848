"""``nbtrack.Image`` (MLflow's ``mlflow.Image``): an image held as a PIL image, for ``log_image``."""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.tracking.artifacts import to_pil_image

__all__ = ["Image"]


class Image:
    """An image from a numpy array or nested list (HW or HWC; uint8, or floats in [0, 1]), a PIL
    image, or the path of an image file. Needs Pillow.

    Examples
    --------
    >>> image = nbtrack.Image(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> image.size
    (3, 2)
    >>> nbtrack.log_image(image, key="samples", step=0)
    """

    def __init__(self, image: Any) -> None:
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise InvalidParameter("nbtrack.Image needs Pillow: pip install pillow") from None
        self.image: Any
        if isinstance(image, str):
            self.image = PILImage.open(image)
        elif isinstance(image, PILImage.Image):
            self.image = image
        elif type(image).__name__ == "ndarray" or isinstance(image, list):
            self.image = to_pil_image(image)
        else:
            raise InvalidParameter(f"Unsupported image object type: {type(image).__name__}. Pass a numpy array, "
                                   "a nested list, a PIL image or the path of an image file.")
        self.size: tuple[int, int] = self.image.size

    def to_list(self) -> list[Any]:
        """The pixel values, row by row (as ``PIL.Image.getdata``)."""
        flattened = getattr(self.image, "get_flattened_data", None)  # Pillow >= 12; getdata is deprecated there
        return list(flattened() if flattened is not None else self.image.getdata())

    def to_array(self) -> Any:
        """The pixels as a numpy array (H, W[, C])."""
        import numpy as np

        return np.array(self.image)

    def to_pil(self) -> Any:
        """The PIL image."""
        return self.image

    def save(self, path: str) -> None:
        """Write the image to ``path`` (format from the extension)."""
        self.image.save(path)

    def resize(self, size: tuple[int, int]) -> Image:
        """A resized copy, ``size`` being (width, height)."""
        return Image(self.image.resize(size))
