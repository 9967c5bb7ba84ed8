"""The vaccine passport: Decision 5772/QĐ-BYT certificates as EU Digital COVID Certificate
QR codes (issue 18): the payload, its COSE signature by a Document Signer, the ``HC1:``
text and its QR, and the published EU DCC schema and value sets they follow."""
