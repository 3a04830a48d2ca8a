"""`python -m ocr scan IMAGE...`, the same command as `channelhub ocr scan`."""

from ocr.cli import ocr_group

if __name__ == "__main__":
    ocr_group(prog_name="python -m ocr")
