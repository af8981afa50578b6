"""Reading screenshots: the text (Tesseract), what it says (links, handles, platform,
post text) and a fingerprint to match the same picture sent by others.

- `reader`: decode an image within a pixel budget, prepare it, run the `tesseract`
  CLI in a subprocess with a timeout, a few at a time per process.
- `screen_text`: the links, @handles, platform and post text of the text read.
- `fingerprint`: the perceptual hash of an image and the likeness of two texts,
  used by the store to put screenshots of the same post in one case.
"""
