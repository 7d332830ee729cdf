#!/usr/bin/env python3
"""Prints MSK IAM auth tokens made by AWS's own Python signer
(aws-msk-iam-sasl-signer-python) for fixed credentials and a fixed signing
time: the test vectors of core/src/adapters/kafka/msk_iam.rs.

    python3 -m venv /tmp/msk && /tmp/msk/bin/pip install aws-msk-iam-sasl-signer-python==1.0.2
    /tmp/msk/bin/python scripts/msk/token_vector.py

Each line: region, access key, secret, session token (or -), signing time,
then the decoded signed URL with its User-Agent parameter dropped (the only
part that names the library that made it).
"""
import base64
import datetime
from unittest import mock

import botocore.auth
from botocore.credentials import Credentials
import aws_msk_iam_sasl_signer.MSKAuthTokenProvider as provider

CASES = [
    ("us-east-1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None,
     datetime.datetime(2026, 11, 23, 12, 0, 0)),
    ("eu-west-1", "ASIAEXAMPLE", "secret/with+odd=chars", "session//token+==",
     datetime.datetime(2025, 1, 2, 3, 4, 5)),
]

for region, key, secret, token, at in CASES:
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
        # The module-level function every generate_auth_token_* call ends in.
        signed, expiry_ms = getattr(provider, "__construct_auth_token")(
            region, Credentials(key, secret, token))
    url = base64.urlsafe_b64decode(signed + "=" * (-len(signed) % 4)).decode()
    url = url.split("&User-Agent=")[0]
    print(region, key, secret, token or "-", at.strftime("%Y%m%dT%H%M%SZ"), expiry_ms, url)
