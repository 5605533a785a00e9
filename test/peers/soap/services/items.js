'use strict';
// soap-samples GetItemInformation__should_ignore_default_namespace_from_schema:
// service SampleService, port BasicHttpBinding_SampleService. Echoes the
// items asked for (arrays of complex types, xs:decimal, xs:short), each with
// its availability and warehouses. A request without items is a Client fault;
// an ItemNumber "crash" makes the handler throw an Error.
module.exports = () => ({
  SampleService: {
    BasicHttpBinding_SampleService: {
      GetItemInformation(args) {
        const items = args && args.Items && args.Items.Item; // args is null for an empty element
        if (!items) {
          throw { Fault: { faultcode: 'soap:Client', faultstring: 'no items', statusCode: 500 } };
        }
        const list = Array.isArray(items) ? items : [items];
        if (list.some((it) => it && it.ItemNumber === 'crash')) {
          // A handler error that is not a fault: node-soap answers HTTP 500
          // with its own fault, SOAP 1.2 elements (Code/Value, Reason/Text) in
          // the 1.1 envelope namespace and an undeclared SOAP-ENV: prefix.
          throw new Error('inventory backend crashed');
        }
        return {
          GetItemInformationResult: {
            ErrorCode: 0,
            Items: {
              Item: list.map((it, i) => ({
                ItemNumber: it.ItemNumber,
                SupplierId: 7 + i,
                SupplierName: 'Supplier ' + (i + 1),
                RequestedQuantity: { Value: it.RequestedQuantity ? it.RequestedQuantity.Value : '0' },
                AvailState: { AvailState: i + 1 },
                Warehouses: { Warehouse: [{ Default: true, Id: 'W1' }, { Default: false, Id: 'W' + (i + 2) }] },
              })),
            },
          },
        };
      },
    },
  },
});
