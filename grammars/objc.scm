; cseek chunk query for Objective-C, followed by c.scm (the grammar extends C's).
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; A method is named by the first part of its selector (`requestWithURL` for
; `requestWithURL:cachePolicy:`); a category (`@implementation NSString (Paths)`) is a
; part of the class it extends and is named after it.

(class_interface . (identifier) @name) @definition.class
(class_implementation . (identifier) @name) @definition.class
(protocol_declaration . (identifier) @name) @definition.interface

(method_definition (method_type) . (identifier) @name) @definition.method
(method_definition . (identifier) @name) @definition.method
(method_declaration (method_type) . (identifier) @name) @definition.method
(method_declaration . (identifier) @name) @definition.method

; `typedef NS_ENUM(NSInteger, Name) { … }`: the grammar sees a macro type whose
; arguments hold the enum's name.
(type_definition
  type: (macro_type_specifier
    name: (identifier) @_m
    type: (type_descriptor type: (type_identifier) @name))
  (#any-of? @_m "NS_ENUM" "NS_CLOSED_ENUM" "NS_ERROR_ENUM")) @definition.enum
