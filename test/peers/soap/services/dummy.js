'use strict';
// soap-samples Dummy__should_handle_attributes_in_response and
// Dummy__should_handle_nil (the same soap.wsdl): service DummyService, port
// DummyPortType, operation Dummy (document/literal bare).
//   DummyField1 "nil"   → the DummyList holds one DummyElement xsi:nil="true"
//                          (the nil sample; run with --declare-xsi)
//   DummyField1 "fault" → Client fault with a detail
//   otherwise           → DummyResult code="OK" with two DummyElements, each
//                          text with a language attribute, the first echoing
//                          DummyField1 and the second DummyFilter's string filter
//                          (the attributes sample)
//
// node-soap writes the elements of DummyResult's type (common.xsd, namespace
// http://www.Dummy.com/Common/Types) in the namespace of the enclosing
// element (name.xsd's); the handlers name them with a declared prefix "c:",
// node-soap's own way of qualifying an element.
const common = { 'xmlns:c': 'http://www.Dummy.com/Common/Types' };

module.exports = () => ({
  DummyService: {
    DummyPortType: {
      Dummy(args) {
        const field = args.DummyField1;
        if (field === 'nil') {
          return { DummyResult: { attributes: common, 'c:DummyList': { 'c:DummyElement': null } } };
        }
        if (field === 'fault') {
          throw { Fault: { faultcode: 'soap:Client', faultstring: 'no such dummy', detail: { DummyFault: { field } }, statusCode: 500 } };
        }
        const filter = (args.DummyFilter && args.DummyFilter.DummyStringFilter) || '';
        return {
          DummyResult: {
            attributes: { code: 'OK', ...common },
            'c:DummyList': {
              'c:DummyElement': [
                { attributes: { language: 'en-US' }, $value: field },
                { attributes: { language: 'de-DE' }, $value: '  ' + filter + '  ' },
              ],
            },
          },
        };
      },
    },
  },
});
