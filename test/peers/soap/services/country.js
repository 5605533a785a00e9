'use strict';
// countryInformation.wsdl (the oorsprong.org CountryInfoService): service
// CountryInfoService, ports CountryInfoServiceSoap (1.1) and
// CountryInfoServiceSoap12 (1.2), the same handlers on both. A few countries;
// an unknown ISO code is a Client fault with a detail (the real service
// answers "Country not found in the database"), "XX" a Server fault.
const countries = {
  NL: { name: 'Netherlands', capital: 'Amsterdam', phone: '31', continent: 'EU', currency: ['EUR', 'Euro'], languages: [['nl', 'Dutch'], ['fy', 'Frisian']] },
  JP: { name: 'Japan', capital: 'Tokyo', phone: '81', continent: 'AS', currency: ['JPY', 'Yen'], languages: [['ja', 'Japanese']] },
  CI: { name: "Côte d'Ivoire", capital: 'Yamoussoukro', phone: '225', continent: 'AF', currency: ['XOF', 'CFA Franc'], languages: [] },
};

module.exports = ({ soap12 }) => {
  const lookup = (code) => {
    if (code === 'XX') {
      throw { Fault: soap12
        ? { Code: { Value: 'soap:Receiver' }, Reason: { Text: 'database offline' }, statusCode: 500 }
        : { faultcode: 'soap:Server', faultstring: 'database offline', statusCode: 500 } };
    }
    const c = countries[code];
    if (!c) {
      const detail = { CountryFault: { sCountryISOCode: code || '' } };
      throw { Fault: soap12
        ? { Code: { Value: 'soap:Sender' }, Reason: { Text: 'Country not found in the database' }, Detail: detail, statusCode: 500 }
        : { faultcode: 'soap:Client', faultstring: 'Country not found in the database', detail, statusCode: 500 } };
    }
    return c;
  };
  const ops = {
    CountryName: ({ sCountryISOCode }) => ({ CountryNameResult: lookup(sCountryISOCode).name }),
    CapitalCity: ({ sCountryISOCode }) => ({ CapitalCityResult: lookup(sCountryISOCode).capital }),
    CountryCurrency: ({ sCountryISOCode }) => {
      const [sISOCode, sName] = lookup(sCountryISOCode).currency;
      return { CountryCurrencyResult: { sISOCode, sName } };
    },
    ListOfCountryNamesByName: () => ({
      ListOfCountryNamesByNameResult: {
        tCountryCodeAndName: Object.keys(countries)
          .sort((a, b) => countries[a].name.localeCompare(countries[b].name))
          .map((k) => ({ sISOCode: k, sName: countries[k].name })),
      },
    }),
    FullCountryInfo: ({ sCountryISOCode }) => {
      const c = lookup(sCountryISOCode);
      return {
        FullCountryInfoResult: {
          sISOCode: sCountryISOCode, sName: c.name, sCapitalCity: c.capital, sPhoneCode: c.phone,
          sContinentCode: c.continent, sCurrencyISOCode: c.currency[0],
          sCountryFlag: `http://www.oorsprong.org/WebSamples.CountryInfo/Flags/${c.name}.jpg`,
          Languages: { tLanguage: c.languages.map(([sISOCode, sName]) => ({ sISOCode, sName })) },
        },
      };
    },
  };
  return { CountryInfoService: { CountryInfoServiceSoap: ops, CountryInfoServiceSoap12: ops } };
};
