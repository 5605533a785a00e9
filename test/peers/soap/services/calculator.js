'use strict';
// calculator-soap11and12.wsdl: service Calculator, ports CalculatorSoap (1.1)
// and CalculatorSoap12 (1.2), the same handlers on both.
//
// Faults, shaped for the version the server speaks (opts.soap12):
//   Divide with intB 0       → Server/Receiver fault, HTTP 500, detail <DivideByZero>
//   Add with intA < 0        → Client/Sender fault, HTTP 500, detail <BadArgument>
//   Subtract with intA < 0   → Client/Sender fault sent with HTTP 200
//   Multiply with intA < 0   → Server/Receiver fault without detail
module.exports = ({ soap12 }) => {
  // fault builds node-soap's thrown fault: {Fault: {...}} in the 1.1 shape
  // (faultcode, faultstring, detail) or the 1.2 one (Code, Reason, Detail).
  const fault = (client, reason, detail, statusCode) => {
    const f = soap12
      ? { Code: { Value: client ? 'soap:Sender' : 'soap:Receiver' }, Reason: { Text: reason } }
      : { faultcode: client ? 'soap:Client' : 'soap:Server', faultstring: reason };
    if (detail) f[soap12 ? 'Detail' : 'detail'] = detail;
    f.statusCode = statusCode || 500; // node-soap answers a thrown fault with 200 unless told
    return { Fault: f };
  };
  const ops = {
    Add({ intA, intB }) {
      if (Number(intA) < 0) throw fault(true, 'intA must not be negative', { BadArgument: { name: 'intA', value: String(intA) } });
      return { AddResult: Number(intA) + Number(intB) };
    },
    Subtract({ intA, intB }) {
      if (Number(intA) < 0) throw fault(true, 'intA must not be negative', { BadArgument: { name: 'intA' } }, 200);
      return { SubtractResult: Number(intA) - Number(intB) };
    },
    Multiply({ intA, intB }) {
      if (Number(intA) < 0) throw fault(false, 'multiplier offline', null);
      return { MultiplyResult: Number(intA) * Number(intB) };
    },
    Divide({ intA, intB }) {
      if (Number(intB) === 0) throw fault(false, 'division by zero', { DivideByZero: { dividend: String(intA) } });
      return { DivideResult: Math.trunc(Number(intA) / Number(intB)) };
    },
  };
  return { Calculator: { CalculatorSoap: ops, CalculatorSoap12: ops } };
};
