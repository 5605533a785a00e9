'use strict';
// CalculatorChoice.wsdl: the calculator whose Add takes an xs:choice of intA
// or intB. Add answers the one it was given, or a Client fault when both or
// neither came.
module.exports = () => {
  const add = (args) => {
    args = args || {}; // null for an empty element
    const given = ['intA', 'intB'].filter((k) => args[k] !== undefined);
    if (given.length !== 1) {
      throw { Fault: { faultcode: 'soap:Client', faultstring: `want one of intA, intB; got ${given.join(',') || 'none'}`, statusCode: 500 } };
    }
    return { AddResult: Number(args[given[0]]) };
  };
  const ops = { Add: add };
  return { Calculator: { CalculatorSoap: ops, CalculatorSoap12: ops } };
};
