#!/usr/bin/python3
"""zeep as a client oracle: print the SOAP envelope zeep builds for a call.

    zeep_envelope.py WSDL SERVICE PORT OPERATION ARGS_JSON

ARGS_JSON is an object of the operation's keyword arguments (zeep's own
convention: element names as keys, nested objects as dicts, lists for
repeated elements). Nothing is sent: the envelope comes from
client.create_message, serialised with lxml, on stdout. The HTTP headers
zeep would send (SOAPAction or the SOAP 1.2 Content-Type action) are printed
on stderr as one JSON line "HEADERS {...}".
"""
import json
import sys

from lxml import etree
from zeep import Client, Settings


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    wsdl, service, port, operation, args = argv[1:]
    client = Client(wsdl, settings=Settings(strict=True))
    proxy = client.bind(service, port)
    kwargs = json.loads(args)
    envelope = client.create_message(proxy, operation, **kwargs)
    binding = proxy._binding
    op = binding.get(operation)
    headers = {}
    if op.soapaction is not None:
        headers["soapaction"] = op.soapaction
    headers["soap_version"] = "1.2" if binding.__class__.__name__ == "Soap12Binding" else "1.1"
    sys.stderr.write("HEADERS " + json.dumps(headers) + "\n")
    sys.stdout.write(etree.tostring(envelope, encoding="unicode"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
