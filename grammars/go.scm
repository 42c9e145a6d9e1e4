; cseek chunk query for Go.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

(function_declaration name: (identifier) @name) @definition.function

; Methods are top-level in Go: the receiver type is their container.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @container
        (pointer_type (type_identifier) @container)
        (generic_type type: (type_identifier) @container)
        (pointer_type (generic_type type: (type_identifier) @container))
      ]))
  name: (field_identifier) @name) @definition.method
(method_declaration name: (field_identifier) @name) @definition.method

(type_declaration (type_spec name: (type_identifier) @name type: (struct_type))) @definition.struct
(type_declaration (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface
(type_declaration (type_spec name: (type_identifier) @name)) @definition.type
(type_declaration (type_alias name: (type_identifier) @name)) @definition.type

; A package-level `var x = …` or `const x = …` of one name is a variable; a parenthesised
; block (`const ( A = iota … )`) reads as one unit and stays with the code around it.
(source_file
  (var_declaration (var_spec name: (identifier) @name)) @definition.variable)
(source_file
  (const_declaration . (const_spec name: (identifier) @name) .) @definition.variable)
