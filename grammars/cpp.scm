; cseek chunk query for C++.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition
  declarator: (function_declarator declarator: (field_identifier) @name)) @definition.function
(function_definition
  declarator: (function_declarator declarator: (operator_name) @name)) @definition.function
(function_definition
  declarator: (function_declarator declarator: (destructor_name) @name)) @definition.function
; Out-of-class member definitions `void Foo::bar()`: the scope is the container.
(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier scope: (_) @container name: (_) @name))) @definition.method
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: (identifier) @name))) @definition.function
; The same wrapping around members and out-of-class definitions: `int* slot(int i)`,
; `Pool& operator=(…)`, `const Pool& Pool::self()`, `int** Pool::table()`.
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: [(field_identifier) (operator_name) (destructor_name)] @name))) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: [(field_identifier) (operator_name)] @name))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name)))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (qualified_identifier scope: (_) @container name: (_) @name)))) @definition.method
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier scope: (_) @container name: (_) @name))))) @definition.method
(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: (qualified_identifier scope: (_) @container name: (_) @name)))) @definition.method

(class_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.class
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(namespace_definition name: (_) @name) @definition.module
(type_definition declarator: (type_identifier) @name) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type
(concept_definition name: (identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro

; `template <...>` belongs to what it declares.
(template_declaration
  (function_definition
    declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(template_declaration
  (function_definition
    declarator: (function_declarator declarator: (field_identifier) @name))) @definition.function
(template_declaration
  (function_definition
    declarator: (function_declarator
      declarator: (qualified_identifier scope: (_) @container name: (_) @name)))) @definition.method
(template_declaration
  (function_definition
    declarator: [(pointer_declarator
                   declarator: (function_declarator declarator: (identifier) @name))
                 (reference_declarator
                   (function_declarator declarator: (identifier) @name))])) @definition.function
(template_declaration
  (function_definition
    declarator: [(pointer_declarator
                   declarator: (function_declarator
                     declarator: (qualified_identifier scope: (_) @container name: (_) @name)))
                 (reference_declarator
                   (function_declarator
                     declarator: (qualified_identifier scope: (_) @container name: (_) @name)))])) @definition.method
(template_declaration
  (class_specifier name: (type_identifier) @name body: (field_declaration_list))) @definition.class
(template_declaration
  (struct_specifier name: (type_identifier) @name body: (field_declaration_list))) @definition.struct

; The patterns C and C++ share are in cfamily.scm, appended to this file.
