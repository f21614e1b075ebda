# A network with one public and one private subnet per zone of the region it is placed in.

variable "cidr" {
  type        = string
  description = "Address range of the network."
  validation {
    condition     = length(split("/", var.cidr)) == 2
    error_message = "cidr must be a CIDR block such as 10.0.0.0/16."
  }
}

variable "newbits" {
  type    = number
  default = 8
}

network "main" {
  cidr = var.cidr
  subnet "public" {
    newbits = var.newbits
    public  = true
  }
  subnet "private" {
    newbits = var.newbits
  }
}

output "network" {
  value = network.main
}

output "public_subnet_ids" {
  value = network.main.subnet.public
}

output "private_subnet_ids" {
  value = network.main.subnet.private
}
