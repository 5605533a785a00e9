<?php
// PHP SoapServer (ext/soap) test peer serving a calculator WSDL, run with
// PHP's built-in web server:
//
//   WSDL=/path/calculator-soap11and12.wsdl php -S 127.0.0.1:PORT calculator.php
//
// Every POST is a SOAP call; SoapServer answers in the SOAP version of the
// request's envelope. Fault details are objects (SoapServer writes an array
// as an Apache map of item/key/value elements, and an XSD_ANYXML SoapVar
// without the detail wrapper). Faults (SoapServer maps "Client"/"Server" to
// "Sender"/"Receiver" in SOAP 1.2 replies):
//   Divide with intB 0      → Server fault "division by zero", detail <DivideByZero>
//   Add with intA < 0       → Client fault "intA must not be negative", detail <BadArgument>
//   Multiply with intA < 0  → Server fault without detail
ini_set('soap.wsdl_cache_enabled', '0');
ini_set('display_errors', '0');

final class Calculator
{
    public function Add($p)
    {
        if ($p->intA < 0) {
            throw new SoapFault('Client', 'intA must not be negative', null,
                (object)['BadArgument' => (object)['name' => 'intA', 'value' => (string)$p->intA]]);
        }
        return ['AddResult' => $p->intA + $p->intB];
    }

    public function Subtract($p)
    {
        return ['SubtractResult' => $p->intA - $p->intB];
    }

    public function Multiply($p)
    {
        if ($p->intA < 0) {
            throw new SoapFault('Server', 'multiplier offline');
        }
        return ['MultiplyResult' => $p->intA * $p->intB];
    }

    public function Divide($p)
    {
        if ($p->intB == 0) {
            throw new SoapFault('Server', 'division by zero', null,
                (object)['DivideByZero' => (object)['dividend' => (string)$p->intA]]);
        }
        return ['DivideResult' => intdiv($p->intA, $p->intB)];
    }
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    header('Content-Type: text/plain');
    echo "php SoapServer: POST a SOAP envelope\n";
    return true;
}
$server = new SoapServer(getenv('WSDL'), ['cache_wsdl' => WSDL_CACHE_NONE]);
$server->setClass(Calculator::class);
$server->handle();
