'use strict';
// ChoiceInProperties.wsdl (a Workday Human_Resources excerpt): service
// Human_ResourcesService, port Human_Resources, operation
// Get_Employee_Personal_Info (document/literal bare). Answers three licenses,
// one per member of the xs:choice (Country_Reference, Country_Region_Reference,
// Authority_Reference), after the licenses asked for, echoed unchanged, with
// the (qualified: attributeFormDefault) attribute As_Of_Date.
module.exports = () => ({
  Human_ResourcesService: {
    Human_Resources: {
      Get_Employee_Personal_Info(args) {
        let asked = args.License_ID_Data || [];
        if (!Array.isArray(asked)) asked = [asked];
        return {
          attributes: { 'wd:As_Of_Date': '2026-11-28' },
          License_ID_Data: [
            ...asked,
            { License_ID: 'L-1', License_Class: 'B', Issued_Date: '2020-01-31', Country_Reference: { Country_ISO_Code: 'US' } },
            { License_ID: 'L-2', Country_Region_Reference: { Country_Reference: { Country_ISO_Code: 'CA' }, Country_Region_Name: 'Ontario' } },
            { License_ID: 'L-3', Expiration_Date: '2030-12-31Z', Authority_Reference: { Authority_Name: 'DMV' } },
          ],
        };
      },
    },
  },
});
