"""Importers: NAS-Bench-101 and EC-NAS TFRecord files → ecnas tables, without TensorFlow.

``get_importer("ecnas").import_file("energy.tfrecord", "table.h5")`` reads every record (both CRCs
checked), decodes the protobuf metrics with a schema-driven wire-format decoder, validates each
record's cell and hash, and writes the table atomically. The registry maps names to importers;
``ecnas import NAME FILE -o TABLE`` is the command-line front end.
"""

from __future__ import annotations

from ecnas.importers._base import (
    EXTRAS_GROUP,
    ImportedTable,
    Importer,
    Row,
    available_importers,
    get_importer,
    read_extras,
    register_importer,
)
from ecnas.importers._crc32c import crc32c, crc32c_many, masked_crc32c
from ecnas.importers._protobuf import Field, Schema, decode, encode
from ecnas.importers._records import RawRecord, encode_record, parse_record
from ecnas.importers._tfrecord import frame_record, iter_records, write_records
from ecnas.importers.ecnas_energy import ENERGY_METRICS, ECNASEnergyImporter
from ecnas.importers.nasbench101 import MODEL_METRICS, NASBench101Importer

__all__ = [
    "ENERGY_METRICS",
    "EXTRAS_GROUP",
    "MODEL_METRICS",
    "ECNASEnergyImporter",
    "Field",
    "ImportedTable",
    "Importer",
    "NASBench101Importer",
    "RawRecord",
    "Row",
    "Schema",
    "available_importers",
    "crc32c",
    "crc32c_many",
    "decode",
    "encode",
    "encode_record",
    "frame_record",
    "get_importer",
    "iter_records",
    "masked_crc32c",
    "parse_record",
    "read_extras",
    "register_importer",
    "write_records",
]
