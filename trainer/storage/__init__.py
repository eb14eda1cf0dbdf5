"""Object storage (any S3-compatible endpoint) and local paths behind one small API.

The design constraint: this package is the trainer's only edge to object storage and imports no TensorFlow.
`uri` is pure parsing; `client` builds the boto3 client; `s3` holds `Storage`, which does the I/O (`transfers`
moves the bytes, `localfs` does the local side); `failures` maps every exception to the trainer's error types.
"""

from trainer.storage.client import default_transfer_config, make_client
from trainer.storage.s3 import ObjectInfo, Storage
from trainer.storage.uri import Location

__all__ = ["Location", "ObjectInfo", "Storage", "default_transfer_config", "make_client"]
