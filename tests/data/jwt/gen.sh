#!/bin/sh
# Regenerates the TEST-ONLY keys used by tests/unit/rbac and the rbac_jwt fuzz
# target. These private keys protect nothing: they exist so that tests can
# sign tokens. Run from this directory; commit the result.
set -eu
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048b.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out attacker_rsa2048.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out attacker_p256.pem
