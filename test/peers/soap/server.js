'use strict';
// node-soap test peer: serves one corpus WSDL with the handlers of
// services/<name>.js, as `soap.listen` does for a real node-soap service.
//
//   node server.js <name> <wsdl> [--soap12] [--declare-xsi]
//
// It listens on 127.0.0.1 on a free port and prints
// "node-soap listening on http://127.0.0.1:PORT/soap"; the endpoint is that
// URL whatever the WSDL's soap:address says. With --soap12 it answers with
// SOAP 1.2 envelopes (node-soap's forceSoap12Headers). node-soap writes a
// null value as xsi:nil="true" but never declares the xsi prefix (its
// envelope leaves out every http://www.w3.org/ namespace), so its nil
// replies are not namespace-well-formed; --declare-xsi adds the declaration
// to the reply envelope (the one change this script makes to what node-soap
// writes). Every request it
// receives is printed as one line "RECEIVED <json>" with the method, the
// Content-Type and SOAPAction headers and the raw body, so a test can compare
// what the caller sent. The peer exits when its stdin closes, so it never
// outlives the test.
const http = require('http');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const soap = require('soap');

const [name, wsdlPath, ...flags] = process.argv.slice(2);
if (!name || !wsdlPath) {
  console.error('usage: node server.js <name> <wsdl> [--soap12]');
  process.exit(2);
}
const soap12 = flags.includes('--soap12');
const declareXSI = flags.includes('--declare-xsi');
const services = require(path.join(__dirname, 'services', name + '.js'))({ soap12 });
const xml = fs.readFileSync(wsdlPath, 'utf8');

const server = http.createServer((req, res) => {
  res.statusCode = 404;
  res.end('not found\n');
});
server.listen(0, '127.0.0.1', () => {
  const soapServer = soap.listen(server, {
    path: '/soap',
    services,
    xml,
    uri: path.resolve(wsdlPath), // imports resolve next to the WSDL
    forceSoap12Headers: soap12,
    suppressStack: true,
    // Called once the WSDL and its imports are loaded and requests are
    // routed to node-soap: only then is the peer ready.
    callback(err) {
      if (err) {
        console.error('node-soap cannot serve the WSDL: ' + (err.stack || err));
        process.exit(1);
      }
      console.log(`node-soap listening on http://127.0.0.1:${server.address().port}/soap`);
    },
  });
  if (declareXSI) {
    soapServer.on('response', (response) => {
      const r = response.result;
      if (typeof r === 'string' && r.includes('xsi:') && !r.includes('xmlns:xsi=')) {
        response.result = r.replace(/<([A-Za-z_][\w.-]*):Envelope /, '<$1:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ');
      }
    });
  }
  soapServer.log = (type, data, req) => {
    if (type === 'received') {
      console.log('RECEIVED ' + JSON.stringify({
        method: req.method,
        contentType: req.headers['content-type'] || '',
        soapAction: req.headers.soapaction === undefined ? null : req.headers.soapaction,
        body: data,
      }));
    } else if (type === 'error') {
      console.log('ERROR ' + JSON.stringify(String(data && data.stack || data)));
    }
  };
});

readline.createInterface({ input: process.stdin }).on('close', () => process.exit(0));
