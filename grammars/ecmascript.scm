; cseek chunk patterns shared by JavaScript and TypeScript/TSX, whose grammars name these
; nodes alike; appended to javascript.scm and typescript.scm (see their headers for the
; capture convention). Language-specific patterns stay in those files.

; const f = () => {} / function () {}
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function
(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

; `export` wraps the declaration it exports.
(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)]))) @definition.function

; `exports.f = function () {}`, `Foo.prototype.bar = (x) => …`
(expression_statement
  (assignment_expression
    left: (member_expression property: (property_identifier) @name)
    right: [(arrow_function) (function_expression)])) @definition.function

; A named function expression wherever it stands outside a function: `export default
; supported && function httpAdapter(config) {…}`, `forEach(list, function each(x) {…})`.
(function_expression name: (identifier) @name) @definition.function

; A function handed to a wrapper and kept under a name: `export const Button =
; forwardRef((props, ref) => …)`, `const onResize = debounce(function () {…}, 100)`.
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: (call_expression
      arguments: (arguments [(arrow_function) (function_expression)])))) @definition.function
(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: (call_expression
        arguments: (arguments [(arrow_function) (function_expression)]))))) @definition.function

; Any other module-level binding is a variable named by it: `export const appRouter =
; router({…})`. Only at the top of the program (locals belong to their function), not
; an import (`const x = require('x')…`), and after the patterns above, which win on the
; same node. The chunker keeps one-line bindings with the code around them.
(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name value: (_) @value)
    (#not-match? @value "^require\\b")) @definition.variable)
(program
  (variable_declaration
    (variable_declarator name: (identifier) @name value: (_) @value)
    (#not-match? @value "^require\\b")) @definition.variable)
(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name value: (_) @value)
      (#not-match? @value "^require\\b"))) @definition.variable)
