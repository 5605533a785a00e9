'use strict';
// checkVatService.wsdl (the EU VIES service): service checkVatService, port
// checkVatPort. A small register of VAT numbers; faults as VIES raises them
// (faultstring is VIES's error code):
//   countryCode not two capital letters → Client fault INVALID_INPUT, HTTP 500
//   countryCode "ZZ"                    → Server fault MS_UNAVAILABLE, HTTP 500
//   vatNumber "000"                     → Server fault SERVICE_ERROR with a detail
// A number registered without name or address answers them as xsi:nil.
const register = {
  'DE:123456789': { name: 'ACME Werkzeuge GmbH', address: 'Hauptstr. 1\n10115 Berlin' },
  'FR:00000000001': { name: null, address: null },
};

module.exports = () => {
  const fault = (client, reason, detail) => {
    const f = { faultcode: client ? 'soap:Client' : 'soap:Server', faultstring: reason, statusCode: 500 };
    if (detail) f.detail = detail;
    return { Fault: f };
  };
  const check = ({ countryCode, vatNumber }) => {
    if (!/^[A-Z]{2}$/.test(countryCode || '')) throw fault(true, 'INVALID_INPUT');
    if (countryCode === 'ZZ') throw fault(false, 'MS_UNAVAILABLE');
    if (vatNumber === '000') throw fault(false, 'SERVICE_ERROR', { viesError: { code: 'SERVICE_ERROR', member: countryCode } });
    const entry = register[countryCode + ':' + vatNumber];
    return { countryCode, vatNumber, requestDate: '2026-11-28+01:00', valid: entry !== undefined, entry };
  };
  return {
    checkVatService: {
      checkVatPort: {
        checkVat(args) {
          const { entry, ...r } = check(args);
          if (entry) Object.assign(r, { name: entry.name, address: entry.address });
          return r;
        },
        checkVatApprox(args) {
          const { entry, ...r } = check(args);
          if (entry) Object.assign(r, { traderName: entry.name, traderCompanyType: null, traderAddress: entry.address === null ? undefined : entry.address });
          r.requestIdentifier = 'WAPIAAAAW1';
          return r;
        },
      },
    },
  };
};
